using Patronus.Cni.Tests.Binary;
using Patronus.Cni.Tests.Kernel;

namespace Patronus.Cni.Tests.Fuzz;

/// <summary>
/// Everything the fuzzed plugin may touch: a node namespace it runs in, two pod namespaces, an IPAM folder, an
/// agent socket path nobody listens on and its spool, files that are no namespace (a FIFO, a regular file, a
/// folder), and a CNI_PATH folder holding the plugin under two names (a symlink and a copy) for self-delegation.
/// </summary>
public sealed class FuzzWorld : IDisposable
{
    public const string NetworkName = "pcni-fz";

    private readonly string _dir;
    private readonly TestNetns _otherPod;

    public FuzzWorld()
    {
        Node = new Node();
        Pod = Node.NewPod();
        _otherPod = Node.NewPod();
        _dir = System.IO.Directory.CreateTempSubdirectory("pcni-fuzz-").FullName;
        DataDir = Path.Combine(_dir, "ipam");
        SpoolDir = Path.Combine(_dir, "pending");
        AgentSocket = Path.Combine(_dir, "agent.sock");
        Fifo = Path.Combine(_dir, "fifo");
        Shell.Must("mkfifo", Fifo);
        RegularFile = Path.Combine(_dir, "file");
        File.WriteAllText(RegularFile, "");
        Directory = System.IO.Directory.CreateDirectory(Path.Combine(_dir, "folder")).FullName;
        SelfPath = System.IO.Directory.CreateDirectory(
            Path.Combine(Plugin.RepoRoot, "artifacts", "test-tmp", "pcni-fuzz-self-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        File.CreateSymbolicLink(Path.Combine(SelfPath, "patronus-cni"), Plugin.Path);
        File.Copy(Plugin.Path, Path.Combine(SelfPath, "pcni-copied-ipam"));

        var ranges = """[[{"subnet":"10.231.0.0/24"}],[{"subnet":"fd00:231::/64"}]]""";
        var sdwan = $$"""{"enable_policy_enforcement":false,"agent_socket":"{{AgentSocket}}","agent_spool_dir":"{{SpoolDir}}"}""";
        var enforced = sdwan.Replace("false", "true");
        string Conf(string version, string members) =>
            $$"""{"cniVersion":"{{version}}","name":"{{NetworkName}}","type":"patronus-cni","bridge":"{{Node.Bridge}}",{{members}}}""";
        BaseConfigs =
        [
            ("dual stack gateway", Conf("1.1.0", $$$"""
                "isGateway":true,"isDefaultGateway":true,"ipam":{"type":"patronus-ipam","dataDir":"{{{DataDir}}}","ranges":{{{ranges}}}}
                """)),
            ("capabilities", Conf("1.1.0", $$$"""
                "isGateway":true,"ipam":{"type":"patronus-ipam","dataDir":"{{{DataDir}}}","ranges":{{{ranges}}}},"sdwan":{{{sdwan}}},
                "runtimeConfig":{"bandwidth":{"ingressRate":8000000,"ingressBurst":800000,"egressRate":8000000,"egressBurst":800000},
                "ips":["10.231.0.9"],"mac":"0a:58:0a:e7:00:09","io.kubernetes.cri.pod-annotations":{"patronus.io/qos-class":"best-effort"}}
                """)),
            ("dns, routes, mtu", Conf("1.0.0", $$$"""
                "mtu":1400,"hairpinMode":true,"dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]},
                "ipam":{"type":"patronus-ipam","dataDir":"{{{DataDir}}}","subnet":"10.231.0.0/24","rangeStart":"10.231.0.10","rangeEnd":"10.231.0.50",
                "routes":[{"dst":"192.168.0.0/16"},{"dst":"0.0.0.0/0"}]}
                """)),
            ("old version", Conf("0.3.1", $$$"""
                "isDefaultGateway":true,"ipam":{"type":"patronus-ipam","dataDir":"{{{DataDir}}}","subnet":"10.231.0.0/24"}
                """)),
            ("enforcement without an agent", Conf("0.4.0", $$$"""
                "ipam":{"type":"patronus-ipam","dataDir":"{{{DataDir}}}","ranges":{{{ranges}}}},"sdwan":{{{enforced}}}
                """)),
            ("host-local", Conf("1.0.0", $$$"""
                "isGateway":true,"ipam":{"type":"host-local","dataDir":"{{{DataDir}}}","ranges":[[{"subnet":"10.231.0.0/24"}]]}
                """)),
            ("chained", Conf("1.1.0", $$$"""
                "ipam":{"type":"patronus-ipam","dataDir":"{{{DataDir}}}","ranges":{{{ranges}}}},
                "prevResult":{"cniVersion":"1.1.0","interfaces":[{"name":"lo0"}],"ips":[{"address":"192.0.2.5/24","interface":0}],"dns":{}}
                """)),
        ];
    }

    public Node Node { get; }

    public TestNetns Pod { get; }

    public string PodPath => Pod.Path;

    public string OtherPodPath => _otherPod.Path;

    public IReadOnlyList<TestNetns> Pods => [Pod, _otherPod];

    public string NodePath => Node.Ns.Path;

    public string DataDir { get; }

    public string SpoolDir { get; }

    public string AgentSocket { get; }

    public string Fifo { get; }

    public string RegularFile { get; }

    public string Directory { get; }

    public string SelfPath { get; }

    public IReadOnlyList<(string Name, string Json)> BaseConfigs { get; }

    /// <summary>
    /// Addresses some IPAM still holds: ours keeps an entry per address in <c>dataDir/network/addresses/</c>,
    /// host-local a file named by the address in <c>dataDir/network/</c>. Network folders are not entries, even
    /// when a mutated network name ("0", "0.2.0") reads as an address.
    /// </summary>
    public IReadOnlyList<string> HeldAddresses() =>
        !System.IO.Directory.Exists(DataDir)
            ? []
            : System.IO.Directory.EnumerateFileSystemEntries(DataDir, "*", SearchOption.AllDirectories)
                .Where(p => !System.IO.Directory.Exists(p)
                    && (Path.GetFileName(Path.GetDirectoryName(p)) == "addresses"
                        || (Path.GetFileName(p).IndexOfAny(['.', ':']) > 0 && System.Net.IPAddress.TryParse(Path.GetFileName(p), out _))))
                .ToList();

    public void Dispose()
    {
        Node.Dispose();
        _otherPod.Dispose();
        System.IO.Directory.Delete(_dir, recursive: true);
        System.IO.Directory.Delete(SelfPath, recursive: true);
    }
}
