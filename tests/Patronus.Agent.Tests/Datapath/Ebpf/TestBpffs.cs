namespace Patronus.Agent.Tests.Datapath.Ebpf;

/// <summary>
/// A directory of the test's own for the datapath to mount its bpffs on (never the host's /sys/fs/bpf);
/// unmounted and removed afterwards, which also drops the pins.
/// </summary>
public sealed class TestBpffs : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("patronus-bpffs-").FullName;

    public void Dispose()
    {
        // Lazy unmount: a datapath still holding descriptors keeps its maps, but the mount goes now.
        Patronus.Testing.Command.Run("umount", $"-l {Path}");
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
