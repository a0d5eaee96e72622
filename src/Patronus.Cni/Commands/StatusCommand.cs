using Patronus.Cni.Addressing;
using Patronus.Cni.Config;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Commands;

/// <summary>
/// STATUS (SPEC.md, "STATUS: Check plugin status"): code 50 when ADD cannot succeed (no free address, an
/// unusable data folder, an IPAM plugin that says so); code 51 when ADD works but pods would get limited
/// connectivity (policy enforcement configured and no agent listening); success otherwise.
/// </summary>
public static class StatusCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf)
    {
        var addresses = AddressSources.For(conf, env);
        if (addresses is BuiltInIpam builtIn)
        {
            var status = builtIn.Store.Status();
            if (!status.Available)
            {
                throw new CniException(CniErrorCode.PluginNotAvailable, status.Problem ?? "ipam: no address can be allocated");
            }
        }
        else if (addresses is DelegatedIpam delegated && Spec.CniVersion.HasGcAndStatus(conf.CniVersion))
        {
            DelegatedIpam.TolerateOlderPlugin(delegated.Status);
        }

        if (conf.Sdwan is { EnablePolicyEnforcement: true } sdwan && !File.Exists(sdwan.AgentSocket))
        {
            throw new CniException(CniErrorCode.LimitedConnectivity,
                $"sdwan.enable_policy_enforcement is on but no agent socket exists at {sdwan.AgentSocket}; pods would start without their network policy");
        }

        return [];
    }
}
