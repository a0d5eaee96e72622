using Patronus.Policy.Analysis;
using Patronus.Policy.Compiled;
using Patronus.Policy.Compiler;
using Patronus.Policy.Model;

namespace Patronus.Policy.Tests.Support;

/// <summary>
/// The cluster the upstream network policy e2e suite builds: namespaces x, y, z (labelled only
/// kubernetes.io/metadata.name), pods a, b, c in each (labelled pod=name) serving ports 80 and 81 over TCP,
/// UDP and SCTP with named ports serve-PORT-PROTO. Addresses: x/a = 10.0.1.1, y/b = 10.0.2.2, and so on.
/// </summary>
internal static class UpstreamCluster
{
    public static readonly string[] NamespaceNames = ["x", "y", "z"];
    public static readonly string[] PodNames = ["a", "b", "c"];

    public static IEnumerable<Namespace> Namespaces() =>
        NamespaceNames.Select(n => Build.Ns(n, $"kubernetes.io/metadata.name={n}"));

    public static IEnumerable<Pod> Pods() =>
        NamespaceNames.SelectMany((ns, i) => PodNames.Select((pod, j) => Build.Pod(ns, pod, Address(ns, pod), [$"pod={pod}"], ServingPorts())));

    public static string Address(string ns, string pod) => $"10.0.{Array.IndexOf(NamespaceNames, ns) + 1}.{Array.IndexOf(PodNames, pod) + 1}";

    public static ContainerPort[] ServingPorts() =>
        (from port in new[] { 80, 81 }
         from protocol in new[] { Protocol.Tcp, Protocol.Udp, Protocol.Sctp }
         select Build.Port(port, protocol, $"serve-{port}-{protocol.ToString().ToLowerInvariant()}")).ToArray();

    public static string[] AllPods => NamespaceNames.SelectMany(ns => PodNames.Select(p => $"{ns}/{p}")).ToArray();

    public static PolicyCompiler Compile(params NetworkPolicy[] policies) =>
        PolicyCompiler.Create(Namespaces(), Pods(), policies);

    /// <summary>The pairs (from, to) whose traffic is allowed, excluding every pod's traffic to itself.</summary>
    public static SortedSet<string> Allowed(PolicyCompiler compiler, int port = 80, Protocol protocol = Protocol.Tcp)
    {
        var allowed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var from in compiler.Endpoints.Values)
            foreach (var to in compiler.Endpoints.Values)
                if (from.Endpoint != to.Endpoint && Reachability.Allows(from, to, protocol, port))
                    allowed.Add($"{from.Endpoint}->{to.Endpoint}");
        return allowed;
    }

    /// <summary>Every pair except self and the ones given.</summary>
    public static SortedSet<string> AllExcept(Func<string, string, bool> denied)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var from in AllPods)
            foreach (var to in AllPods)
                if (from != to && !denied(from, to))
                    set.Add($"{from}->{to}");
        return set;
    }

    public static SortedSet<string> Only(Func<string, string, bool> allowed) => AllExcept((f, t) => !allowed(f, t));
}
