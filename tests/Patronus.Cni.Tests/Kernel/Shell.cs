using Patronus.Testing;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>Test-side shell-outs to iproute2 and friends, to set up and to check independently of our netlink code.</summary>
public static class Shell
{
    public static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var result = Command.Run(file, args);
        return (result.ExitCode, result.Stdout + result.Stderr);
    }

    public static string Must(string file, params string[] args)
    {
        var (code, output) = Run(file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {output}");
        }

        return output;
    }

    public static string Ip(params string[] args) => Must("ip", args);

    public static bool Ping(string fromNs, string address) =>
        Run("ip", "netns", "exec", fromNs, "ping", "-c", "1", "-W", "3", address).ExitCode == 0;
}

/// <summary>A network namespace made for one test, deleted afterwards even on failure.</summary>
public sealed class TestNetns : IDisposable
{
    public TestNetns(string role)
    {
        Name = $"pcni-{role}-{Guid.NewGuid().ToString("N")[..8]}";
        NetworkNamespace.Add(Name);
        Shell.Ip("-n", Name, "link", "set", "lo", "up");
    }

    public string Name { get; }

    public string Path => NetworkNamespace.PathOf(Name);

    public string Links() => Shell.Ip("-n", Name, "-o", "link", "show");

    public void Dispose() => NetworkNamespace.TryDelete(Name);
}
