using Patronus.Cni.Config;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Commands;

public static class GcCommand
{
    public static byte[] Run(CniEnvironment env, NetConf conf) =>
        throw new CniException(CniErrorCode.TryAgainLater, "Gc: not built yet");
}
