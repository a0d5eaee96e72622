using Microsoft.Extensions.DependencyInjection;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Agent.Datapath;
using Patronus.Agent.Hosting;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>"paths" through a real agent's socket: refused while no source of paths is plugged in, answered from it once one is.</summary>
public sealed class AgentPathsQueryTests : IDisposable
{
    private readonly AgentPaths _paths = new();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public void Dispose() => _paths.Dispose();

    [Fact]
    public async Task Paths_AgentWithoutPaths_RefusesSayingWhy()
    {
        await using var agent = await RunningAgent.StartAsync(_paths.Arguments());

        var refused = Assert.Throws<AgentRejectedException>(() => _paths.Client().GetPaths(Timeout));

        Assert.Equal("paths: WAN paths are not available on this agent (no mesh, or this node is not a gateway)", refused.Message);
    }

    [Fact]
    public async Task Paths_AgentWithASource_AnswersWithItsCurrentReport()
    {
        var calls = 0;
        var app = AgentHost.Build(_paths.Arguments(), services =>
        {
            services.AddSingleton<IPolicyDatapath>(new RecordingDatapath());
            services.AddSingleton<Func<PathsStatus>>(() => new PathsStatus
            {
                ClusterId = "aws", Node = "node-a", Gateway = true, ProbeIntervalMs = 50,
                Paths = [new PathReport { Id = "fast", Remote = "gcp", State = "Up", Score = 90, Failovers = Interlocked.Increment(ref calls) }],
            });
        });
        await app.StartAsync();
        try
        {
            var first = _paths.Client().GetPaths(Timeout);
            var second = _paths.Client().GetPaths(Timeout);

            Assert.Equal("aws", first.ClusterId);
            Assert.Equal("fast", first.Paths.Single().Id);
            // Asked anew on every request, not captured once.
            Assert.Equal(1, first.Paths[0].Failovers);
            Assert.Equal(2, second.Paths[0].Failovers);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
