using System.Diagnostics;
using System.Net;
using Patronus.Testing;

namespace Patronus.Bench.Nftables;

/// <summary>A node namespace with a bridge and two pods (client, server) on veths; all named pnft-bench-*, removed on dispose.</summary>
internal sealed class BenchLab : IDisposable
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..6];
    private readonly OwnedNamespaces _namespaces = new();

    public string Node { get; }
    public string Client { get; }
    public string Server { get; }
    public IPAddress ClientAddress { get; } = IPAddress.Parse("10.78.0.11");
    public IPAddress ServerAddress { get; } = IPAddress.Parse("10.78.0.12");

    public BenchLab()
    {
        try
        {
            Node = Add("node");
            Client = Add("client");
            Server = Add("server");
            Run("ip", $"-n {Node} link add br0 type bridge");
            Run("ip", $"-n {Node} addr add 10.78.0.1/24 dev br0");
            Run("ip", $"-n {Node} link set br0 up");
            var i = 11;
            foreach (var pod in new[] { Client, Server })
            {
                Run("ip", $"-n {Node} link add veth{i} type veth peer name eth0 netns {pod}");
                Run("ip", $"-n {Node} link set veth{i} master br0 up");
                Run("ip", $"-n {pod} link set lo up");
                Run("ip", $"-n {pod} addr add 10.78.0.{i}/24 dev eth0");
                Run("ip", $"-n {pod} link set eth0 up");
                i++;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string NodePath => NetworkNamespace.PathOf(Node);

    private string Add(string role) => _namespaces.Add($"pnft-bench-{_id}-{role}");

    public static string Run(string file, string args)
    {
        var result = Command.Run(file, args);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} failed ({result.ExitCode}): {result.Stderr}");
        return result.Stdout;
    }

    public static Process Start(string file, string args) =>
        Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;

    public void Dispose() => _namespaces.Dispose();
}
