using System.Text.Json;
using Patronus.Testing;

namespace Patronus.Netlink.Tests.Integration;

/// <summary>
/// A throwaway network namespace made with iproute2 (so the code under test is not trusted to set up its
/// own fixture) and always deleted on dispose. Names start with "pnl-".
/// </summary>
public sealed class TestNamespace : IDisposable
{
    private bool _disposed;

    public TestNamespace()
    {
        Name = $"pnl-{Guid.NewGuid().ToString("N")[..10]}";
        NetworkNamespace.Add(Name);
        try
        {
            Ns = NetNs.OpenPath(NetworkNamespace.PathOf(Name));
            Netlink = RtNetlink.OpenIn(Ns);
        }
        catch
        {
            NetworkNamespace.TryDelete(Name);
            throw;
        }
    }

    public string Name { get; }

    public NetNs Ns { get; }

    public RtNetlink Netlink { get; }

    /// <summary>Runs `ip -n NAME ARGS` and returns stdout.</summary>
    public string Ip(string arguments) => Shell.Run("ip", $"-n {Name} {arguments}");

    public JsonElement IpJson(string arguments) => JsonDocument.Parse(Ip($"-j {arguments}")).RootElement;

    public string Exec(string command) => Shell.Run("ip", $"netns exec {Name} {command}");

    public (int ExitCode, string Output) TryExec(string command) => Shell.TryRun("ip", $"netns exec {Name} {command}");

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Netlink.Dispose();
        Ns.Dispose();
        NetworkNamespace.TryDelete(Name);
    }
}

public static class Shell
{
    public static string Run(string file, string arguments)
    {
        var (code, output) = TryRun(file, arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited with {code}: {output}");
        }

        return output;
    }

    public static (int ExitCode, string Output) TryRun(string file, string arguments)
    {
        var result = Command.Run(file, arguments);
        return (result.ExitCode, result.Stdout + result.Stderr);
    }
}
