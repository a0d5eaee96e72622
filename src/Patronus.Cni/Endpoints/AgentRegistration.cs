using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Cni.Config;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Endpoints;

/// <summary>
/// Tells the node agent about the pod's endpoint, so its NetworkPolicy is in the kernel. With
/// <c>sdwan.enable_policy_enforcement</c> ADD waits for that and fails (code 11, try again later) when the
/// agent cannot be reached, since a pod must not start without its policy; without it the registration is
/// a courtesy that feeds status and metrics, and an absent agent is no error.
/// </summary>
internal static class AgentRegistration
{
    /// <summary>Long enough for the agent to compile and program a large policy set; short enough that kubelet retries.</summary>
    private static readonly TimeSpan EnforcedTimeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan CourtesyTimeout = TimeSpan.FromSeconds(2);

    public static void Register(CniEnvironment env, SdwanConf sdwan, Link host, Link container, IEnumerable<CniIpConfig> ips)
    {
        var endpoint = new EndpointRegistration(
            env.ContainerId,
            env.IfName,
            env.NetNs ?? "",
            env.Args.PodNamespace ?? "",
            env.Args.PodName ?? "",
            env.Args.PodUid ?? "",
            ips.Select(ip => $"{ip.Address}/{ip.PrefixLength}").ToList(),
            container.MacText,
            host.Name);
        var client = new AgentClient(sdwan.AgentSocket, sdwan.AgentSpoolDirectory);
        try
        {
            client.Register(endpoint, sdwan.EnablePolicyEnforcement ? EnforcedTimeout : CourtesyTimeout);
        }
        catch (AgentUnavailableException e) when (sdwan.EnablePolicyEnforcement)
        {
            throw new CniException(CniErrorCode.TryAgainLater,
                $"sdwan.enable_policy_enforcement is on and the pod's policy could not be put in force: {e.Message}");
        }
        catch (AgentRejectedException e) when (sdwan.EnablePolicyEnforcement)
        {
            throw new CniException(CniErrorCode.TryAgainLater, $"patronus-agent refused the endpoint: {e.Message}");
        }
        catch (Exception e) when (!sdwan.EnablePolicyEnforcement && e is AgentUnavailableException or AgentRejectedException or AgentProtocolException)
        {
            // Not enforcing: the pod works without the agent, which learns of it at its next start.
        }
    }

    /// <summary>Removes the endpoint, or queues the removal for the agent's return: DEL never fails because the agent is down.</summary>
    public static void Unregister(CniEnvironment env, SdwanConf sdwan)
    {
        try
        {
            new AgentClient(sdwan.AgentSocket, sdwan.AgentSpoolDirectory).UnregisterOrQueue(env.ContainerId, env.IfName, CourtesyTimeout);
        }
        catch (Exception e) when (e is AgentRejectedException or AgentProtocolException)
        {
            // The agent answered but did not take the removal (it may never have known the endpoint): nothing to undo.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IoFailure, $"sdwan.agent_spool_dir: could not queue the endpoint removal in {sdwan.AgentSpoolDirectory}: {e.Message}");
        }
    }
}
