using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Patronus.Cli.Lab;
using Patronus.Cli.Tests.Lab.Paths;
using Patronus.Netlink;
using Patronus.Testing;
using Xunit.Abstractions;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// A small lab of its own (kept apart from the shared three-cluster lab, whose tests must not see a gateway die):
/// cluster east with two gateways, gw-a and gw-b (with the pod "standby"), and a plain node node-c with the pod
/// "client"; cluster west with
/// one gateway gw-1 and the pod "server"; one WAN link between them.
/// </summary>
public sealed class TwoGatewayLabFixture : IAsyncLifetime
{
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-labtest-").FullName;

    internal LabCli Cli { get; } = new();

    public string Name { get; } = LabCli.NewName();

    public JsonNode Status { get; private set; } = null!;

    public JsonNode Node(string cluster, string name) =>
        Status["clusters"]!.AsArray().Single(c => (string?)c!["id"] == cluster)!["nodes"]!.AsArray().Single(n => (string?)n!["name"] == name)!;

    public Task InitializeAsync()
    {
        var lab = Path.Combine(_files, "lab.yaml");
        File.WriteAllText(lab, """
            clusters:
            - id: east
              podCIDR: 10.60.0.0/16
              serviceCIDR: 10.61.0.0/16
              nodes:
              - {name: gw-a, gateway: true}
              - {name: gw-b, gateway: true}
              - {name: node-c}
              manifests: [east.yaml]
            - id: west
              podCIDR: 10.62.0.0/16
              serviceCIDR: 10.63.0.0/16
              nodes:
              - {name: gw-1, gateway: true}
              manifests: [west.yaml]
            wan:
            - {id: link, between: [east, west], delay: 2ms}
            """);
        File.WriteAllText(Path.Combine(_files, "east.yaml"), """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Pod
              metadata: {name: client, namespace: default}
              spec: {nodeName: node-c, containers: [{name: client, image: busybox}]}
            - apiVersion: v1
              kind: Pod
              metadata: {name: standby, namespace: default}
              spec: {nodeName: gw-b, containers: [{name: standby, image: busybox}]}
            """);
        File.WriteAllText(Path.Combine(_files, "west.yaml"), """
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: default}
            spec: {nodeName: gw-1, containers: [{name: server, image: busybox}]}
            """);
        Cli.Must("up", "-f", lab, "--name", Name);
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

/// <summary>
/// Issue 9's "with two gateways, losing one moves traffic to the other", measured under a 10 ms UDP stream.
/// </summary>
[Collection(TimingLabCollection.Name)]
public sealed class TwoGatewaysFailoverTests(TwoGatewayLabFixture lab, ITestOutputHelper output) : IClassFixture<TwoGatewayLabFixture>
{
    private sealed record Pod(string Name, string Netns, IPAddress Address);

    private Pod PodNamed(string name) =>
        lab.Status["clusters"]!.AsArray().SelectMany(c => c!["pods"]!.AsArray())
            .Where(p => (string?)p!["name"] == name)
            .Select(p => new Pod(name, (string)p!["netns"]!, IPAddress.Parse((string)p["ips"]![0]!))).Single();

    [Fact]
    public void Status_ShowsBothGatewaysOfTheCluster_EachOnTheLink()
    {
        var east = lab.Status["clusters"]!.AsArray().Single(c => (string?)c!["id"] == "east")!;
        Assert.Equal(["gw-a", "gw-b"], east["gateways"]!.AsArray().Select(g => (string?)g));
        Assert.Equal(["east/gw-a", "east/gw-b", "west/gw-1"],
            lab.Status["wan"]![0]!["gateways"]!.AsArray().Select(g => $"{g!["cluster"]}/{g["node"]}").Order());
        Assert.True((bool)lab.Node("east", "gw-b")["gateway"]!);
        Assert.NotEmpty(lab.Node("east", "gw-b")["wan"]!.AsArray());
    }

    /// <summary>
    /// A pod on the standby gateway: west accepts east's ranges only from the carrier (gw-a), so gw-b sends its own
    /// pods' remote traffic to gw-a like any node, not into its own tunnel, where west would drop it.
    /// </summary>
    [Fact]
    public async Task APodOnTheStandbyGateway_ReachesTheRemoteCluster_ThroughTheCarrier()
    {
        var standby = PodNamed("standby");
        var server = PodNamed("server");
        var gwB = (string)lab.Node("east", "gw-b")["netns"]!;
        var gwA = Address(lab.Node("east", "gw-a"));

        Assert.True(await Poll.UntilAsync(() => Via(gwB, server.Address) == gwA && Ping(standby.Netns, server.Address) && Ping(server.Netns, standby.Address), TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(250)),
            $"gw-b: {LabCli.InNamespace(gwB, "ip", "-4", "route", "show").Stdout}");
        using var echo = new PeerEcho(server.Netns, [server.Address], 7007);
        // The server sees the pod's own address: nothing on the way through gw-a rewrote it.
        Assert.Equal(standby.Address.ToString(), await PeerEcho.TcpPeerAsync(standby.Netns, new IPEndPoint(server.Address, 7007), TimeSpan.FromSeconds(10)));
    }

    /// <summary>
    /// gw-a "dies" by having its cables pulled: the switch-side ends of its uplink and its WAN leg (in the fabric's
    /// and the link's namespaces) are taken down, so nothing reaches it or leaves it, as when a node loses power or
    /// its network. That is the failure the second gateway is for. Its agent and wireguard-go keep running,
    /// cut off: killing them instead would not stop the tunnel (WireGuard outlives the agent, a proof of its own)
    /// and taking the node's own interfaces down would flush its routes, which a node that comes back after a power
    /// loss has again. Plugging the cables back in is the node coming back.
    /// </summary>
    [Fact]
    public async Task LosingTheActiveGateway_MovesTrafficToTheOther_AndItsReturnMovesItBack_UnderA10msUdpStream()
    {
        var client = PodNamed("client");
        var server = PodNamed("server");
        var nodeC = (string)lab.Node("east", "node-c")["netns"]!;
        var gwA = Address(lab.Node("east", "gw-a"));
        var gwB = Address(lab.Node("east", "gw-b"));
        var west = Device("west", "gw-1");
        var keyA = Wg(Device("east", "gw-a"), "public-key").Trim();
        var keyB = Wg(Device("east", "gw-b"), "public-key").Trim();
        using var echo = new PeerEcho(server.Netns, [server.Address], 7007);

        // Before: both gateways are peers of west, east's ranges on gw-a's (the first by name), node-c routes through gw-a.
        Assert.True(await Poll.UntilAsync(() => Carrier(west, keyA, keyB) == "gw-a" && Via(nodeC, server.Address) == gwA
            && Ping(client.Netns, server.Address) && Ping(server.Netns, client.Address), TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(250)), Dump(west, nodeC, server.Address));
        var westSocket = (string)lab.Node("west", "gw-1")["socket"]!;
        // `mesh status` on west: a row per gateway of east, gw-a carrying.
        Assert.True(await Poll.UntilAsync(() => EastAsWestSeesIt(westSocket) == "gw-a live carrier, gw-b live", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), EastAsWestSeesIt(westSocket));
        using var established = await ConnectAsync(client.Netns, new IPEndPoint(server.Address, 7007));
        Assert.Equal(client.Address.ToString(), await EchoAsync(established));

        var outbound = new UdpStream(client.Netns, client.Address, server.Netns, server.Address, 7200, TimeSpan.FromMilliseconds(10));
        var inbound = new UdpStream(server.Netns, server.Address, client.Netns, client.Address, 7201, TimeSpan.FromMilliseconds(10));
        UdpStreamResult failoverOut, failoverIn;
        var cables = Cables((string)lab.Node("east", "gw-a")["netns"]!);
        Assert.Equal(2, cables.Count); // its uplink and its WAN leg
        try
        {
            Assert.True(outbound.WaitForArrivals(50, TimeSpan.FromSeconds(10)) && inbound.WaitForArrivals(50, TimeSpan.FromSeconds(10)), "the streams must flow before gw-a dies");
            Plug(cables, up: false);
            var arrivedOut = outbound.Received;
            var arrivedIn = inbound.Received;
            Assert.True(outbound.WaitForArrivals(arrivedOut + 300, TimeSpan.FromSeconds(15)), "client → server stopped with gw-a");
            Assert.True(inbound.WaitForArrivals(arrivedIn + 300, TimeSpan.FromSeconds(15)), "server → client stopped with gw-a");
            Assert.Equal("gw-b", Carrier(west, keyA, keyB));
            Assert.Equal(gwB, Via(nodeC, server.Address));
            Assert.Equal("gw-a dead, gw-b live carrier", EastAsWestSeesIt(westSocket));
            failoverOut = outbound.Stop();
            failoverIn = inbound.Stop();

            // TCP: the connection opened through gw-a goes on through gw-b, and new ones are made.
            Assert.Equal(client.Address.ToString(), await EchoAsync(established));
            Assert.Equal(client.Address.ToString(), await PeerEcho.TcpPeerAsync(client.Netns, new IPEndPoint(server.Address, 7007), TimeSpan.FromSeconds(10)));
        }
        finally
        {
            outbound.Dispose();
            inbound.Dispose();
            Plug(cables, up: true);
        }
        output.WriteLine($"gw-a lost (cables pulled), 10 ms UDP stream client→server: {failoverOut}");
        output.WriteLine($"gw-a lost (cables pulled), 10 ms UDP stream server→client: {failoverIn}");

        // gw-a comes back: traffic returns to it (first live by name) and keeps flowing meanwhile.
        using var backOut = new UdpStream(client.Netns, client.Address, server.Netns, server.Address, 7202, TimeSpan.FromMilliseconds(10));
        using var backIn = new UdpStream(server.Netns, server.Address, client.Netns, client.Address, 7203, TimeSpan.FromMilliseconds(10));
        Assert.True(await Poll.UntilAsync(() => Carrier(west, keyA, keyB) == "gw-a" && Via(nodeC, server.Address) == gwA, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250)), Dump(west, nodeC, server.Address));
        Assert.True(backOut.WaitForArrivals(backOut.Received + 100, TimeSpan.FromSeconds(10)) && backIn.WaitForArrivals(backIn.Received + 100, TimeSpan.FromSeconds(10)),
            "traffic stopped when gw-a came back");
        var returnOut = backOut.Stop();
        var returnIn = backIn.Stop();
        output.WriteLine($"gw-a back, 10 ms UDP stream client→server: {returnOut}");
        output.WriteLine($"gw-a back, 10 ms UDP stream server→client: {returnIn}");
        Assert.Equal(client.Address.ToString(), await EchoAsync(established));

        AssertGaps(failoverOut, failoverIn, returnOut, returnIn);
    }

    /// <summary>
    /// The other way a gateway is lost: its processes die. gw-a's agent and its wireguard-go are killed with SIGKILL
    /// (the tunnel goes with wireguard-go; the agent alone would leave it carrying traffic, as the shared lab's
    /// proof shows), so its probe responder and its device vanish while the node stays up. A successor agent started
    /// as the lab starts it makes a new device and answers probes only once it knows a member again; then traffic
    /// returns to it.
    /// </summary>
    [Fact]
    public async Task KillingTheActiveGatewaysAgentAndWireGuard_MovesTrafficToTheOther_AndItsSuccessorTakesItBack()
    {
        var client = PodNamed("client");
        var server = PodNamed("server");
        var nodeC = (string)lab.Node("east", "node-c")["netns"]!;
        var gwANetns = (string)lab.Node("east", "gw-a")["netns"]!;
        var gwA = Address(lab.Node("east", "gw-a"));
        var gwB = Address(lab.Node("east", "gw-b"));
        var west = Device("west", "gw-1");
        var device = Device("east", "gw-a");
        var keyA = Wg(device, "public-key").Trim();
        var keyB = Wg(Device("east", "gw-b"), "public-key").Trim();
        using var echo = new PeerEcho(server.Netns, [server.Address], 7007);
        Assert.True(await Poll.UntilAsync(() => Carrier(west, keyA, keyB) == "gw-a" && Via(nodeC, server.Address) == gwA
            && Ping(client.Netns, server.Address) && Ping(server.Netns, client.Address), TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(250)), Dump(west, nodeC, server.Address));
        var (agent, commandLine) = AgentOf("east", "gw-a");
        var daemon = int.Parse(Command.Run("pgrep", ["-f", $"^wireguard-go {device}$"]).Stdout.Trim(), CultureInfo.InvariantCulture);

        UdpStreamResult killOut, killIn;
        using (var outbound = new UdpStream(client.Netns, client.Address, server.Netns, server.Address, 7210, TimeSpan.FromMilliseconds(10)))
        using (var inbound = new UdpStream(server.Netns, server.Address, client.Netns, client.Address, 7211, TimeSpan.FromMilliseconds(10)))
        {
            Assert.True(outbound.WaitForArrivals(50, TimeSpan.FromSeconds(10)) && inbound.WaitForArrivals(50, TimeSpan.FromSeconds(10)), "the streams must flow before gw-a dies");
            Command.Run("kill", ["-KILL", agent.ToString(CultureInfo.InvariantCulture), daemon.ToString(CultureInfo.InvariantCulture)]);
            var arrivedOut = outbound.Received;
            var arrivedIn = inbound.Received;
            Assert.True(outbound.WaitForArrivals(arrivedOut + 300, TimeSpan.FromSeconds(15)), "client → server stopped with gw-a's processes");
            Assert.True(inbound.WaitForArrivals(arrivedIn + 300, TimeSpan.FromSeconds(15)), "server → client stopped with gw-a's processes");
            Assert.Equal("gw-b", Carrier(west, keyA, keyB));
            Assert.Equal(gwB, Via(nodeC, server.Address));
            killOut = outbound.Stop();
            killIn = inbound.Stop();
        }
        output.WriteLine($"gw-a's agent and wireguard-go killed (SIGKILL), 10 ms UDP stream client→server: {killOut}");
        output.WriteLine($"gw-a's agent and wireguard-go killed (SIGKILL), 10 ms UDP stream server→client: {killIn}");
        Assert.Equal(client.Address.ToString(), await PeerEcho.TcpPeerAsync(client.Netns, new IPEndPoint(server.Address, 7007), TimeSpan.FromSeconds(10)));

        // A successor, started as the lab starts agents: a new device, and traffic back on gw-a once it is live.
        using var backOut = new UdpStream(client.Netns, client.Address, server.Netns, server.Address, 7212, TimeSpan.FromMilliseconds(10));
        using var backIn = new UdpStream(server.Netns, server.Address, client.Netns, client.Address, 7213, TimeSpan.FromMilliseconds(10));
        var log = Path.Combine(lab.Cli.LabDirectory(lab.Name), "east", "gw-a", "agent.log");
        Assert.Equal(0, Command.Run("setsid", ["-f", "sh", "-c", "exec \"$@\" >>\"$0\" 2>&1", log, "ip", "netns", "exec", gwANetns, .. commandLine]).ExitCode);
        Assert.True(await Poll.UntilAsync(() => Carrier(west, keyA, keyB) == "gw-a" && Via(nodeC, server.Address) == gwA, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250)), Dump(west, nodeC, server.Address));
        Assert.True(backOut.WaitForArrivals(backOut.Received + 100, TimeSpan.FromSeconds(10)) && backIn.WaitForArrivals(backIn.Received + 100, TimeSpan.FromSeconds(10)),
            "traffic stopped when gw-a's successor took over");
        var returnOut = backOut.Stop();
        var returnIn = backIn.Stop();
        output.WriteLine($"gw-a's successor live again, 10 ms UDP stream client→server: {returnOut}");
        output.WriteLine($"gw-a's successor live again, 10 ms UDP stream server→client: {returnIn}");
        Assert.Equal(client.Address.ToString(), await PeerEcho.TcpPeerAsync(client.Netns, new IPEndPoint(server.Address, 7007), TimeSpan.FromSeconds(10)));

        AssertGaps(killOut, killIn, returnOut, returnIn);
    }

    /// <summary>
    /// The failover must meet the issue's target, no gap over a second in either direction. The return of a gateway is
    /// held to less: both ends move back on their own (each after the gateway has answered its probes for a second),
    /// and in between, one of them sends through a gateway whose peer on the other side does not carry the range yet
    /// (WireGuard gives a prefix to one peer only), so the direction node → remote pod loses what is sent meanwhile.
    /// Measured 0.1-0.8 s alone and up to 1.3 s with another lab running beside it; bounded here well below
    /// WireGuard's 5 s handshake retry, the failure that would show a stale session.
    /// </summary>
    private static void AssertGaps(UdpStreamResult lostOut, UdpStreamResult lostIn, UdpStreamResult backOut, UdpStreamResult backIn)
    {
        foreach (var result in new[] { lostOut, lostIn })
            Assert.True(result.LongestGap < TimeSpan.FromSeconds(1), $"failover: {result}");
        foreach (var result in new[] { backOut, backIn })
            Assert.True(result.LongestGap < TimeSpan.FromSeconds(3), $"return: {result}");
    }

    /// <summary>East's gateways in west's `mesh status -o json`: each live or dead, the carrier marked.</summary>
    private string EastAsWestSeesIt(string socket)
    {
        var status = JsonNode.Parse(lab.Cli.Mesh("status", "--socket", socket, "-o", "json"))!;
        return string.Join(", ", status["sites"]!.AsArray().Where(s => (string?)s!["id"] == "east")
            .Select(s => $"{s!["gateway"]} {((bool)s["live"]! ? "live" : "dead")}{((bool)s["carrier"]! ? " carrier" : "")}"));
    }

    private static string Address(JsonNode node) => ((string)node["address"]!).Split('/')[0];

    /// <summary>The gateway's WireGuard device, as the lab names it.</summary>
    private string Device(string cluster, string node) => LabNames.MeshInterface(lab.Name, cluster, node);

    /// <summary>The agent the lab started on a node, and its command line (to start a successor the same way).</summary>
    private (int Pid, string[] CommandLine) AgentOf(string cluster, string node)
    {
        var pid = int.Parse(File.ReadAllText(Path.Combine(lab.Cli.LabDirectory(lab.Name), cluster, node, "agent.pid")).Trim(), CultureInfo.InvariantCulture);
        return (pid, File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Split('\0'));
    }

    private static string Wg(string device, params string[] what) => Command.Run("wg", ["show", device, .. what]).Stdout;

    /// <summary>Which of east's gateways carries east's pod range on west's device (by the peers' keys).</summary>
    private static string? Carrier(string westDevice, string keyA, string keyB)
    {
        var lines = Wg(westDevice, "allowed-ips").Split('\n');
        var carrier = lines.FirstOrDefault(l => l.Contains("10.60.0.0/16", StringComparison.Ordinal))?.Split('\t')[0];
        return carrier == keyA ? "gw-a" : carrier == keyB ? "gw-b" : carrier;
    }

    /// <summary>The next hop node-c's kernel picks for a remote pod.</summary>
    private static string? Via(string netns, IPAddress to) =>
        Regex.Match(LabCli.InNamespace(netns, "ip", "-4", "route", "get", to.ToString()).Stdout, @" via (\S+)") is { Success: true } m ? m.Groups[1].Value : null;

    private static bool Ping(string netns, IPAddress to) =>
        LabCli.InNamespace(netns, "ping", "-n", "-q", "-c", "1", "-W", "1", to.ToString()).ExitCode == 0;

    private string Dump(string westDevice, string nodeC, IPAddress server) =>
        $"west: {Wg(westDevice, "allowed-ips")} node-c: {LabCli.InNamespace(nodeC, "ip", "-4", "route", "get", server.ToString()).Stdout}";

    /// <summary>
    /// The switch-side ends of a node's cables: for each of its veths, the interface at the other end, found in the
    /// lab's fabric or WAN-link namespace by index (each end names the other's index).
    /// </summary>
    private List<(string Netns, string Interface)> Cables(string node)
    {
        var ends = new List<(string, string)>();
        var mine = Links(node);
        var switches = LabCli.Namespaces(lab.Name).Where(n => n == $"{lab.Name}.fabric" || n.StartsWith($"{lab.Name}.wan-", StringComparison.Ordinal));
        foreach (var ns in switches)
        {
            foreach (var (index, name, peer) in Links(ns))
            {
                if (mine.Any(m => m.Index == peer && m.Peer == index))
                    ends.Add((ns, name));
            }
        }
        return ends;
    }

    private static List<(int Index, string Name, int Peer)> Links(string netns) =>
        Regex.Matches(LabCli.InNamespace(netns, "ip", "-o", "link", "show").Stdout, @"^(\d+): ([^@:\s]+)@if(\d+):", RegexOptions.Multiline)
            .Select(m => (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)))
            .ToList();

    private static void Plug(List<(string Netns, string Interface)> cables, bool up)
    {
        foreach (var (netns, name) in cables)
            LabCli.InNamespace(netns, "ip", "link", "set", name, up ? "up" : "down");
    }

    private static async Task<Socket> ConnectAsync(string netns, IPEndPoint to)
    {
        using var ns = NetNs.OpenNamed(netns);
        var socket = ns.Run(() => new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(to, cancel.Token);
        return socket;
    }

    /// <summary>One message on a long-lived connection; the echo answers with the address it sees.</summary>
    private static async Task<string?> EchoAsync(Socket connection)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await connection.SendAsync("hello\n"u8.ToArray(), cancel.Token);
        var buffer = new byte[256];
        var length = await connection.ReceiveAsync(buffer, cancel.Token);
        return Encoding.ASCII.GetString(buffer, 0, length).Trim();
    }
}
