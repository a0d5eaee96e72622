using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Hosting;
using Patronus.Agent.Telemetry;

namespace Patronus.Agent.Policy;

/// <summary>Runs the policy feature for the agent's lifetime; its failure ends the agent.</summary>
public sealed class PolicyService(PolicyFeature policy, AgentMetrics metrics, IHostApplicationLifetime lifetime, ILogger<PolicyService> logger)
    : EssentialService(metrics, lifetime, logger, "policy")
{
    protected override Task RunAsync(CancellationToken stoppingToken) => policy.RunAsync(stoppingToken);
}
