using Patronus.Cni.Config;
using Patronus.Cni.Plumbing;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Commands;

public static class AddCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf)
    {
        NetnsPath.Require(env.NetNs!);
        throw new CniException(CniErrorCode.TryAgainLater, "ADD: plumbing not built yet");
    }
}
