using Patronus.Cni.Config;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Commands;

public static class CheckCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf) =>
        throw new CniException(CniErrorCode.TryAgainLater, "Check: not built yet");
}
