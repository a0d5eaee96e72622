using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Patronus.Cli.Tests.Support;
using Patronus.Testing;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// One lab of three clusters shared by the tests: aws-us-west-2 (gateway gw-1 with a pod, node-2 with a pod),
/// gcp-us-central1 (gateway gw-1 with a pod) and onprem-dc1 (gateway gw-1 with a pod); aws-us-west-2 is joined to
/// gcp-us-central1 by the WAN link "fiber" (5 ms each way) and to onprem-dc1 by "mpls" (10 ms); gcp-us-central1 and
/// onprem-dc1 by "internet" (2 ms).
/// </summary>
public sealed class MultiClusterLabFixture : IAsyncLifetime
{
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-labtest-").FullName;

    internal LabCli Cli { get; } = new();

    public string Name { get; } = LabCli.NewName();

    public string LabFile => Path.Combine(_files, "lab.yaml");

    public string Files => _files;

    public JsonNode Status { get; private set; } = null!;

    public string UpOutput { get; private set; } = "";

    public JsonNode Cluster(string id) => Status["clusters"]!.AsArray().Single(c => (string?)c!["id"] == id)!;

    public JsonNode Node(string cluster, string name) => Cluster(cluster)["nodes"]!.AsArray().Single(n => (string?)n!["name"] == name)!;

    public Task InitializeAsync()
    {
        File.WriteAllText(LabFile, """
            clusters:
            - id: aws-us-west-2
              podCIDR: 10.244.0.0/16
              serviceCIDR: 10.96.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              - {name: node-2}
              manifests: [aws.yaml]
            - id: gcp-us-central1
              podCIDR: 10.248.0.0/16
              serviceCIDR: 10.97.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              manifests: [gcp.yaml]
            - id: onprem-dc1
              podCIDR: 10.250.0.0/16
              serviceCIDR: 10.98.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              manifests: [onprem.yaml]
            wan:
            - {id: fiber, between: [aws-us-west-2, gcp-us-central1], delay: 5ms, jitter: 0ms, loss: 0%, rate: 1000mbit}
            - {id: mpls, between: [aws-us-west-2, onprem-dc1], delay: 10ms}
            - {id: internet, between: [gcp-us-central1, onprem-dc1], delay: 2ms}
            """);
        File.WriteAllText(Path.Combine(_files, "aws.yaml"), """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Pod
              metadata: {name: web, namespace: default, labels: {app: web}}
              spec: {nodeName: node-2, containers: [{name: web, image: busybox}]}
            - apiVersion: v1
              kind: Pod
              metadata: {name: edge, namespace: default, labels: {app: edge}}
              spec: {nodeName: gw-1, containers: [{name: edge, image: busybox}]}
            """);
        File.WriteAllText(Path.Combine(_files, "onprem.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata: {name: db, namespace: default, labels: {app: db}}
            spec: {nodeName: gw-1, containers: [{name: db, image: busybox}]}
            """);
        File.WriteAllText(Path.Combine(_files, "gcp.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata: {name: api, namespace: default, labels: {app: api}}
            spec: {nodeName: gw-1, containers: [{name: api, image: busybox}]}
            """);
        UpOutput = Cli.Must("up", "-f", LabFile, "--name", Name);
        Status = Cli.Status(Name);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Cli.Dispose();
        Directory.Delete(_files, recursive: true);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class MultiClusterLabCollection : ICollectionFixture<MultiClusterLabFixture>
{
    public const string Name = "multi-cluster lab";
}

[Collection(MultiClusterLabCollection.Name)]
public sealed class MultiClusterLabTests(MultiClusterLabFixture lab)
{
    private const string AwsGatewayOnFiber = "198.18.0.1";
    private const string GcpGatewayOnFiber = "198.18.0.2";

    [Fact]
    public void Status_ShowsTheWanLink_AsLabYamlGaveIt()
    {
        Assert.Equal(["fiber", "mpls", "internet"], lab.Status["wan"]!.AsArray().Select(l => (string?)l!["id"]));
        var link = lab.Status["wan"]![0]!;

        Assert.Equal("fiber", (string?)link["id"]);
        Assert.Equal(["aws-us-west-2", "gcp-us-central1"], link["between"]!.AsArray().Select(c => (string?)c));
        Assert.Equal(5.0, (double)link["delay"]!);
        Assert.Equal(0.0, (double)link["jitter"]!);
        Assert.Equal(0.0, (double)link["loss"]!);
        Assert.Equal(1000.0, (double)link["rate"]!);
        Assert.True((bool)link["up"]!);
        Assert.Equal("198.18.0.0/24", (string?)link["subnet"]);
        Assert.Equal([$"aws-us-west-2/gw-1 {AwsGatewayOnFiber}", $"gcp-us-central1/gw-1 {GcpGatewayOnFiber}"],
            link["gateways"]!.AsArray().Select(g => $"{g!["cluster"]}/{g["node"]} {g["address"]}"));
    }

    [Fact]
    public void Status_GivesEachClusterItsRangesAndGateways_AndEveryNodeAndPodItsCluster()
    {
        var aws = lab.Cluster("aws-us-west-2");
        Assert.Equal("10.244.0.0/16", (string?)aws["podCIDR"]);
        Assert.Equal("10.96.0.0/16", (string?)aws["serviceCIDR"]);
        Assert.Equal(["gw-1"], aws["gateways"]!.AsArray().Select(g => (string?)g));
        Assert.Equal("10.248.0.0/16", (string?)lab.Cluster("gcp-us-central1")["podCIDR"]);

        Assert.True((bool)lab.Node("aws-us-west-2", "gw-1")["gateway"]!);
        Assert.False((bool)lab.Node("aws-us-west-2", "node-2")["gateway"]!);
        Assert.Equal("aws-us-west-2", (string?)lab.Node("aws-us-west-2", "node-2")["cluster"]);
        Assert.Equal(AwsGatewayOnFiber, (string?)lab.Node("aws-us-west-2", "gw-1")["wan"]![0]!["address"]);
        Assert.Empty(lab.Node("aws-us-west-2", "node-2")["wan"]!.AsArray());

        foreach (var cluster in lab.Status["clusters"]!.AsArray())
            foreach (var pod in cluster!["pods"]!.AsArray())
                Assert.Equal((string?)cluster["id"], (string?)pod!["cluster"]);
        Assert.Single(lab.Cluster("gcp-us-central1")["pods"]!.AsArray());
    }

    [Fact]
    public void Gateways_ReachEachOthersLinkAddress_ThroughTheRelaysDelay()
    {
        var (received, min) = Ping((string)lab.Node("aws-us-west-2", "gw-1")["netns"]!, GcpGatewayOnFiber, 5);

        Assert.Equal(5, received);
        Assert.True(min >= 10, $"round trip {min} ms across a link of 5 ms each way");
    }

    [Fact]
    public void ClustersMeetOnlyOverTheirLinks_ANonGatewayHasNoLinkAddress()
    {
        var node2 = (string)lab.Node("aws-us-west-2", "node-2")["netns"]!;
        var addresses = LabCli.InNamespace(node2, "ip", "-o", "addr").Stdout;

        Assert.DoesNotContain("198.18.", addresses);
    }

    [Fact]
    public void LabWan_ChangesTheRunningLink_WithoutRestartingItsRelay()
    {
        var gateway = (string)lab.Node("aws-us-west-2", "gw-1")["netns"]!;
        var relayBefore = RelayPid();
        try
        {
            var output = lab.Cli.Must("wan", "fiber", "--name", lab.Name, "--delay", "30", "--loss", "0", "--rate", "0");
            Assert.Contains("fiber: up, delay 30 ms", output);
            var link = lab.Cli.Status(lab.Name)["wan"]![0]!;
            Assert.Equal(30.0, (double)link["delay"]!);
            Assert.Null(link["rate"]);
            var (received, min) = Ping(gateway, GcpGatewayOnFiber, 3);
            Assert.Equal(3, received);
            Assert.True(min >= 60, $"round trip {min} ms across a link of 30 ms each way");

            lab.Cli.Must("wan", "fiber", "--name", lab.Name, "--down");
            Assert.False((bool)lab.Cli.Status(lab.Name)["wan"]![0]!["up"]!);
            Assert.Equal(0, Ping(gateway, GcpGatewayOnFiber, 3).Received);

            lab.Cli.Must("wan", "fiber", "--name", lab.Name, "--up");
            Assert.Equal(3, Ping(gateway, GcpGatewayOnFiber, 3).Received);
            Assert.Equal(relayBefore, RelayPid());
        }
        finally
        {
            lab.Cli.Must("wan", "fiber", "--name", lab.Name, "--delay", "5", "--rate", "1000", "--up");
        }
    }

    [Theory]
    [InlineData(new[] { "wan", "copper" }, "has no wan link \"copper\" (links: fiber, mpls, internet)")]
    [InlineData(new[] { "wan", "fiber", "--loss", "200" }, "--loss: 200 is not a percentage")]
    [InlineData(new[] { "wan", "fiber", "--down", "--up" }, "--down and --up: choose one")]
    public void LabWan_RefusesBadInput_NamingIt(string[] arguments, string expected)
    {
        var (code, _, error) = lab.Cli.Run([.. arguments, "--name", lab.Name]);

        Assert.Equal(1, code);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void ApplyAndDelete_NeedACluster_WhenTheLabHasSeveral()
    {
        var file = Path.Combine(lab.Files, "extra.yaml");
        File.WriteAllText(file, """
            apiVersion: v1
            kind: Pod
            metadata: {name: extra, namespace: default}
            spec: {nodeName: gw-1, containers: [{name: extra, image: busybox}]}
            """);

        var (code, _, error) = lab.Cli.Run("apply", "-f", file, "--name", lab.Name);
        Assert.NotEqual(0, code);
        Assert.Contains("has clusters aws-us-west-2, gcp-us-central1, onprem-dc1: choose one with --cluster", error);

        lab.Cli.Must("apply", "-f", file, "--name", lab.Name, "--cluster", "gcp-us-central1");
        var pods = lab.Cli.Status(lab.Name)["clusters"]!.AsArray().Single(c => (string?)c!["id"] == "gcp-us-central1")!["pods"]!.AsArray();
        var extra = pods.Single(p => (string?)p!["name"] == "extra")!;
        Assert.Equal("gcp-us-central1", (string?)extra["cluster"]);
        Assert.StartsWith("10.248.", (string?)extra["ips"]![0]);

        lab.Cli.Must("delete", "-f", file, "--name", lab.Name, "--cluster", "gcp-us-central1");
        Assert.DoesNotContain(lab.Cli.Status(lab.Name)["clusters"]![1]!["pods"]!.AsArray(), p => (string?)p!["name"] == "extra");
    }

    [Fact]
    public void Gateways_GetKeysInPrivateFiles_AndNoPrivateKeyIsEverPrintedOrStored()
    {
        var directory = lab.Cli.LabDirectory(lab.Name);
        var setKey = Path.Combine(directory, "cluster-set.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(setKey));
        var keys = Path.Combine(directory, "aws-us-west-2", "gw-1", "mesh");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(keys));
        foreach (var file in new[] { "identity.key", "wireguard.key" })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(keys, file)));
        Assert.True(Convert.FromBase64String(File.ReadAllText(Path.Combine(keys, "member.cert")).Trim()).Length > 64);
        Assert.False(Directory.Exists(Path.Combine(directory, "aws-us-west-2", "node-2", "mesh")), "a non-gateway got mesh keys");

        // The key file holds the private key in base64, as the mesh's key files do.
        var secret = File.ReadAllText(setKey).Trim();
        var raw = Convert.FromBase64String(secret);
        foreach (var text in new[] { lab.UpOutput, lab.Cli.Must("status", "--name", lab.Name, "-o", "json"), lab.Cli.Must("status", "--name", lab.Name),
            File.ReadAllText(Path.Combine(directory, "state.json")), File.ReadAllText(Path.Combine(directory, "wan", "fiber", "relay.log")) })
        {
            Assert.DoesNotContain(secret, text);
            Assert.DoesNotContain(Convert.ToHexString(raw), text, StringComparison.OrdinalIgnoreCase);
        }

        // Each gateway's own private keys, WireGuard and identity (and the set key), appear nowhere its agent writes or
        // shows: its log (stdout and stderr), /metrics, `mesh status` (table and json), its database (with -wal, -shm).
        var secrets = new List<(string Owner, byte[] Key)> { ("cluster-set.key", raw) };
        var places = new List<(string Where, byte[] Bytes)>();
        foreach (var cluster in new[] { "aws-us-west-2", "gcp-us-central1", "onprem-dc1" })
        {
            var node = Path.Combine(directory, cluster, "gw-1");
            var mesh = Path.Combine(node, "mesh");
            foreach (var file in new[] { "identity.key", "wireguard.key" })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(mesh, file)));
                secrets.Add(($"{cluster}/gw-1 {file}", Convert.FromBase64String(File.ReadAllText(Path.Combine(mesh, file)).Trim())));
            }
            var socket = Path.Combine(node, "agent.sock");
            var json = lab.Cli.Mesh("status", "--socket", socket, "-o", "json");
            // The search looks where the keys' public halves are: the agent runs with the key its folder holds.
            var own = Patronus.WireGuard.KeyFile.Read(Path.Combine(mesh, "wireguard.key"), Patronus.WireGuard.KeyKind.Private).PublicKey();
            Assert.Equal(Convert.ToBase64String(own.Bytes), (string?)JsonNode.Parse(json)!["publicKey"]);
            places.Add(($"{cluster} mesh status -o json", System.Text.Encoding.UTF8.GetBytes(json)));
            places.Add(($"{cluster} mesh status", System.Text.Encoding.UTF8.GetBytes(lab.Cli.Mesh("status", "--socket", socket))));
            var metrics = LabCli.InNamespace((string)lab.Node(cluster, "gw-1")["netns"]!, "busybox", "wget", "-q", "-O", "-", (string)lab.Node(cluster, "gw-1")["metrics"]!);
            Assert.True(metrics.ExitCode == 0 && metrics.Stdout.Contains("patronus_mesh_peers"), $"{cluster} /metrics: {metrics.Stderr}");
            places.Add(($"{cluster} /metrics", System.Text.Encoding.UTF8.GetBytes(metrics.Stdout)));
            places.Add(($"{cluster} agent.log", File.ReadAllBytes(Path.Combine(node, "agent.log"))));
            foreach (var database in new[] { "agent.db", "agent.db-wal", "agent.db-shm" }.Select(f => Path.Combine(node, f)).Where(File.Exists))
                places.Add(($"{cluster} {Path.GetFileName(database)}", File.ReadAllBytes(database)));
        }
        Assert.Contains(places, p => p.Where == "aws-us-west-2 agent.db");
        foreach (var (owner, key) in secrets)
        {
            foreach (var (encoding, pattern) in new[] { ("base64", Convert.ToBase64String(key)), ("hex", Convert.ToHexStringLower(key)), ("HEX", Convert.ToHexString(key)) }
                .Select(e => (e.Item1, System.Text.Encoding.ASCII.GetBytes(e.Item2))).Append(("raw", key)))
            {
                foreach (var (where, bytes) in places)
                    Assert.False(bytes.AsSpan().IndexOf(pattern) >= 0, $"{owner} found in {where} ({encoding})");
            }
        }
    }

    [Fact]
    public void EveryAgent_GetsTheMeshOptions_WhenTheAgentKnowsThem()
    {
        var directory = lab.Cli.LabDirectory(lab.Name);
        var gateway = CommandLine(Path.Combine(directory, "aws-us-west-2", "gw-1") + "/");
        var plain = CommandLine(Path.Combine(directory, "aws-us-west-2", "node-2") + "/");
        var remote = CommandLine(Path.Combine(directory, "gcp-us-central1", "gw-1") + "/");

        Assert.Equal("aws-us-west-2", Option(gateway, "--cluster-id"));
        Assert.Equal("gcp-us-central1", Option(remote, "--cluster-id"));
        Assert.Equal(32, Convert.FromBase64String(Option(gateway, "--cluster-set-key")!).Length);
        Assert.Equal(Option(gateway, "--cluster-set-key"), Option(remote, "--cluster-set-key"));
        Assert.Equal(Path.Combine(directory, "aws-us-west-2", "gw-1", "mesh"), Option(gateway, "--mesh-keys"));
        // Each leg a path named after its link, on a port of its own; fiber's rate is its capacity.
        Assert.Equal($"fiber={AwsGatewayOnFiber}:51820,mpls=198.18.1.1:51830", Option(gateway, "--mesh-endpoints"));
        Assert.Equal("fiber=1000", Option(gateway, "--path-capacities"));
        Assert.Matches("^wg-[0-9a-f]{12}$", Option(gateway, "--mesh-interface"));
        Assert.NotEqual(Option(gateway, "--mesh-interface"), Option(remote, "--mesh-interface"));
        var remotes = JsonNode.Parse(Option(gateway, "--remote-clusters")!)!.AsArray();
        Assert.Equal($"gcp-us-central1 {GcpGatewayOnFiber}:51820 10.248.0.0/16,fd00:af8::/32,10.97.0.0/16;onprem-dc1 198.18.1.2:51820 10.250.0.0/16,fd00:afa::/32,10.98.0.0/16",
            string.Join(';', remotes.Select(r => $"{r!["id"]} {r["endpoint"]} {r["cidr"]}")));
        Assert.Equal("aws-us-west-2", Option(plain, "--cluster-id"));
        Assert.Equal(Path.Combine(directory, "aws-us-west-2", "node-2", "mesh"), Option(plain, "--mesh-keys"));
        Assert.Null(Option(plain, "--mesh-endpoints"));
    }

    /// <summary>The relay's pid as /proc shows it: the one process whose command line names the link's settings file.</summary>
    private int RelayPid() =>
        Assert.Single(LabCli.ProcessesMentioning(Path.Combine(lab.Cli.LabDirectory(lab.Name), "wan", "fiber", "settings.json")));

    /// <summary>The agent's argv (from /proc, independently of the lab's records) for the node whose folder is given.</summary>
    private static string[] CommandLine(string nodeDirectory)
    {
        var pid = Assert.Single(LabCli.ProcessesMentioning("--socket " + nodeDirectory + "agent.sock"));
        return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
    }

    private static string? Option(string[] argv, string name)
    {
        var i = Array.IndexOf(argv, name);
        return i >= 0 && i + 1 < argv.Length ? argv[i + 1] : null;
    }

    private static (int Received, double Min) Ping(string netns, string address, int count)
    {
        var result = LabCli.InNamespace(netns, "ping", "-n", "-q", "-c", $"{count}", "-i", "0.2", "-W", "1", address);
        var received = int.Parse(Regex.Match(result.Stdout, @"(\d+) received").Groups[1].Value, CultureInfo.InvariantCulture);
        var rtt = Regex.Match(result.Stdout, @"= ([\d.]+)/");
        return (received, rtt.Success ? double.Parse(rtt.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN);
    }
}
