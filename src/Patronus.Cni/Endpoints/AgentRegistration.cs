using Patronus.Agent.Client;
using Patronus.Agent.Client.Protocol;
using Patronus.Cni.Config;
using Patronus.Cni.Diagnostics;
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

    /// <summary>
    /// Registers the endpoint. <paramref name="reachedAgent"/> tells whether the agent may now know the endpoint
    /// (it answered, or it took the request and then failed): a failed ADD must then withdraw it.
    /// </summary>
    public static void Register(CniEnvironment env, SdwanConf sdwan, Link host, Link container, IEnumerable<CniIpConfig> ips, out bool reachedAgent)
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
        reachedAgent = true;
        if (!sdwan.EnablePolicyEnforcement)
        {
            // Not enforcing: the pod works without the agent. If the agent cannot be reached the registration waits
            // in the spool, which the agent applies when it returns; reachedAgent stays true so that a failed ADD
            // queues a removal after it, and the last word wins.
            try
            {
                client.RegisterOrQueue(endpoint, CourtesyTimeout);
            }
            catch (Exception e) when (e is AgentRejectedException or AgentProtocolException)
            {
                // The agent answered and did not take it: the pod works without its consent.
            }
            catch (Exception e)
            {
                PluginLog.Warning(
                    $"endpoint {env.ContainerId}/{env.IfName}: patronus-agent at {sdwan.AgentSocket} is not reachable and the registration could not be queued in sdwan.agent_spool_dir {sdwan.AgentSpoolDirectory} ({SystemErrorText.Describe(e)}); "
                    + "the pod works, without policy until the agent learns of it");
            }
            return;
        }
        try
        {
            client.Register(endpoint, EnforcedTimeout);
        }
        catch (AgentUnavailableException e)
        {
            reachedAgent = e.RequestSent;
            throw new CniException(CniErrorCode.TryAgainLater,
                $"sdwan.enable_policy_enforcement is on and the pod's policy could not be put in force: {e.Message}");
        }
        catch (AgentRejectedException e)
        {
            throw new CniException(CniErrorCode.TryAgainLater, $"patronus-agent refused the endpoint: {e.Message}");
        }
        catch (AgentProtocolException)
        {
            // The exception's text may hold the JSON reader's resource key; what matters is that the reply was not one.
            throw new CniException(CniErrorCode.TryAgainLater,
                $"patronus-agent at {sdwan.AgentSocket} answered the registration with something that is not a reply; the pod's policy is not known to be in force");
        }
    }

    /// <summary>
    /// Removes the endpoint, or queues the removal for the agent's return, and never fails: DEL and a failed ADD
    /// must release what they own whatever the agent's state. A removal that can be neither handed over nor
    /// queued is logged on stderr (the runtime keeps the plugin's stderr in its log) for the operator or a later
    /// GC to finish: the agent may list the endpoint until then.
    /// </summary>
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
        catch (Exception e)
        {
            PluginLog.Warning(
                $"endpoint {env.ContainerId}/{env.IfName}: patronus-agent at {sdwan.AgentSocket} is not reachable and the removal could not be queued in sdwan.agent_spool_dir {sdwan.AgentSpoolDirectory} ({SystemErrorText.Describe(e)}); "
                + "the agent may keep the endpoint until a removal reaches it: repeat DEL once the folder is usable, or remove the endpoint from the agent");
        }
    }
}
