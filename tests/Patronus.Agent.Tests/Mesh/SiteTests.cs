using System.Net;
using NSec.Cryptography;
using Patronus.Agent.Tests.Hosting;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using Patronus.Testing;
using Xunit.Abstractions;
using static Patronus.Testing.NetworkNamespace;
using Key = NSec.Cryptography.Key;

namespace Patronus.Agent.Tests.Mesh;

/// <summary>
/// Sites without Kubernetes (the seed's SD-WAN CLI): two published agents started with <c>--site-name</c> on one LAN,
/// told nothing of each other, find each other by signed multicast announcements alone and join their networks
/// through wireguard-go. Then what they expose (logs, status, metrics, database) is searched for their private keys.
/// </summary>
public sealed class SiteTests : IDisposable
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly ITestOutputHelper _output;
    private readonly OwnedNamespaces _namespaces = new();
    private readonly string _id = Guid.NewGuid().ToString("N")[..6];
    private readonly string _root = Directory.CreateTempSubdirectory("patronus-site-").FullName;
    private readonly Key _setKey = Key.Create(Ed25519);
    private readonly List<AgentProcess> _agents = [];
    private readonly List<string> _interfaces = [];

    public SiteTests(ITestOutputHelper output) => _output = output;

    private string Folder(string site) => Path.Combine(_root, site);

    private AgentProcess StartSite(string site, string netns, string prefix, params string[] more)
    {
        var keys = Path.Combine(Folder(site), "mesh");
        var identity = MemberIdentity.EnsureKeys(keys);
        var certificate = ClusterSetAuthority.Certify(_setKey, new MemberCertificate(site, identity, DateTimeOffset.UtcNow.AddDays(1), [IPNetwork.Parse(prefix)]));
        File.WriteAllText(Path.Combine(keys, MemberIdentity.CertificateFile), Convert.ToBase64String(certificate));
        var @interface = $"wgs{_id}{site[^1]}";
        _interfaces.Add(@interface);
        var agent = AgentProcess.Start([
            "--site-name", site,
            "--cluster-set-key", Convert.ToBase64String(_setKey.PublicKey.Export(KeyBlobFormat.RawPublicKey)),
            "--mesh-keys", keys,
            "--interface", @interface,
            "--netns", PathOf(netns),
            "--database", Path.Combine(Folder(site), "site.db"),
            "--socket", Path.Combine(Folder(site), "agent.sock"),
            "--spool", Path.Combine(Folder(site), "spool"),
            "--announce-interval-seconds", "1",
            "--debug",
            .. more,
        ]);
        _agents.Add(agent);
        return agent;
    }

    [Fact]
    public async Task TwoSites_JoinByMulticastAlone_ReachEachOther_AndExposeNoPrivateKey()
    {
        var one = _namespaces.Add($"pst-{_id}-1");
        var two = _namespaces.Add($"pst-{_id}-2");
        // One LAN with multicast (a route for 224.0.0.0/4, as any LAN host has through its default route), and a
        // network of its own behind each site.
        Ip(one, "link set lo up", $"link add lan0 type veth peer name lan0 netns {two}", "link set lan0 up", "addr add 172.30.0.1/24 dev lan0",
            "route add 224.0.0.0/4 dev lan0", "link add net0 type bridge", "link set net0 up", "addr add 10.30.1.1/24 dev net0");
        Ip(two, "link set lo up", "link set lan0 up", "addr add 172.30.0.2/24 dev lan0",
            "route add 224.0.0.0/4 dev lan0", "link add net0 type bridge", "link set net0 up", "addr add 10.30.2.1/24 dev net0");
        Directory.CreateDirectory(Folder("site-1"));
        Directory.CreateDirectory(Folder("site-2"));

        var first = StartSite("site-1", one, "10.30.1.0/24");
        // site-2 replaces its WireGuard key on a schedule of seconds (24 h by default) all through the test.
        var second = StartSite("site-2", two, "10.30.2.0/24", "--key-rotation-seconds", "4");
        var firstKeyOfTwo = File.ReadAllText(Path.Combine(Folder("site-2"), "mesh", MemberIdentity.WireGuardKeyFile));
        await first.WaitReadyAsync();
        await second.WaitReadyAsync();

        Assert.True(await Poll.UntilAsync(() => Ping(one, "10.30.1.1", "10.30.2.1"), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250)),
            string.Join("\n", first.Lines.TakeLast(15)) + "\n" + Ip(one, "route show"));
        Assert.True(Ping(two, "10.30.2.1", "10.30.1.1"));

        var cli = Path.Combine(Path.GetDirectoryName(AgentProcess.Binary)!, "patronus");
        // Traffic flows before site-2 counts as live: liveness wants a second of answered probes first.
        var row = new System.Text.RegularExpressions.Regex(@"site-2\s+.*up\s+.*172\.30\.0\.2:51820\s+.*10\.30\.2\.0/24");
        var table = default(CommandResult);
        Assert.True(await Poll.UntilAsync(() => row.IsMatch((table = Command.Run(cli, ["mesh", "status", "--socket", Path.Combine(Folder("site-1"), "agent.sock")])).Stdout),
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(250)), table.Stdout);
        _output.WriteLine(table.Stdout);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("Site site-1", table.Stdout);
        var json = Command.Run(cli, ["mesh", "status", "--socket", Path.Combine(Folder("site-1"), "agent.sock"), "-o", "json"]).Stdout;
        var status = Command.Run(cli, ["status", "--socket", Path.Combine(Folder("site-1"), "agent.sock")]).Stdout;
        Assert.Contains("✓ Active tunnels: 1 (site-2)", status);
        var metrics = await first.MetricsAsync();
        Assert.True(AgentProcess.Sample(metrics, "patronus_mesh_peers") == 1, metrics);
        Assert.True(AgentProcess.Sample(metrics, "patronus_mesh_peer_handshake_age_seconds{peer=\"site-2\"}") >= 0, metrics);
        Assert.True(AgentProcess.Sample(metrics, "patronus_mesh_peer_received_bytes_total{peer=\"site-2\"}") > 0, metrics);
        // The rate between two clusters is the tunnel's, between two scrapes.
        Ping(one, "10.30.1.1", "10.30.2.1");
        var later = await first.MetricsAsync();
        Assert.True(AgentProcess.Sample(later, "patronus_pod_bandwidth_mbps{src_cluster=\"site-1\",dst_cluster=\"site-2\"}") > 0, later);
        Assert.True(AgentProcess.Sample(later, "patronus_pod_bandwidth_mbps{src_cluster=\"site-2\",dst_cluster=\"site-1\"}") > 0, later);

        // The rotation on request: a new key, announced, and the sites still reach each other.
        var rotated = Command.Run(cli, ["mesh", "rotate-keys", "--socket", Path.Combine(Folder("site-1"), "agent.sock")]);
        Assert.True(rotated.ExitCode == 0, rotated.Stderr);
        Assert.True(await Poll.UntilAsync(() => Ping(one, "10.30.1.1", "10.30.2.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)));

        // By now site-2 has replaced its key on schedule at least once, and the sites kept reaching each other.
        Assert.True(await Poll.UntilAsync(() => File.ReadAllText(Path.Combine(Folder("site-2"), "mesh", MemberIdentity.WireGuardKeyFile)) != firstKeyOfTwo, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)));
        Assert.Contains(second.Lines, l => l.Contains("replaced (schedule)"));
        Assert.True(await Poll.UntilAsync(() => Ping(two, "10.30.2.1", "10.30.1.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)));

        // No private key anywhere it could leak: logs, status, metrics, database.
        var exposed = string.Join("\n", first.Lines.Concat(second.Lines)) + table.Stdout + json + status + metrics + await second.MetricsAsync()
            + Convert.ToBase64String(File.ReadAllBytes(Path.Combine(Folder("site-1"), "site.db"))) + File.ReadAllText(Path.Combine(Folder("site-1"), "site.db"), System.Text.Encoding.Latin1);
        foreach (var site in new[] { "site-1", "site-2" })
        {
            foreach (var file in new[] { MemberIdentity.IdentityKeyFile, MemberIdentity.WireGuardKeyFile })
            {
                var path = Path.Combine(Folder(site), "mesh", file);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                var secret = File.ReadAllText(path).Trim();
                Assert.DoesNotContain(secret, exposed);
                Assert.DoesNotContain(Convert.ToHexString(Convert.FromBase64String(secret)), exposed, StringComparison.OrdinalIgnoreCase);
            }
        }

        // SIGTERM ends it cleanly; the tunnel outlives it.
        Assert.Equal(0, first.Terminate(TimeSpan.FromSeconds(15)));
        Assert.True(Ping(one, "10.30.1.1", "10.30.2.1"), "the tunnel outlives the agent");
    }

    [Fact]
    public void ASite_NotRunAsRoot_SaysSo()
    {
        var result = Command.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", AgentProcess.Binary,
            "--site-name", "hq", "--cluster-set-key", Convert.ToBase64String(new byte[32]), "--database", "/tmp/none.db"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("must run as root", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    private static bool Ping(string netns, string from, string to) =>
        Command.Run("ip", ["netns", "exec", netns, "ping", "-c", "1", "-W", "1", "-I", from, to]).ExitCode == 0;

    public void Dispose()
    {
        foreach (var agent in _agents)
            agent.Dispose();
        foreach (var @interface in _interfaces)
        {
            // wireguard-go outlives its agent by design: the test ends the daemons it caused.
            Command.Run("pkill", ["-f", $"^wireguard-go {@interface}$"]);
            File.Delete($"/var/run/wireguard/{@interface}.sock");
        }
        _namespaces.Dispose();
        _setKey.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
