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
    // Every private key each site's key files ever held (the files are replaced atomically, so each read is whole).
    private readonly Dictionary<string, HashSet<string>> _keysSeen = [];
    private readonly CancellationTokenSource _watching = new();
    private readonly List<Task> _watchers = [];

    public SiteTests(ITestOutputHelper output) => _output = output;

    private string Folder(string site) => Path.Combine(_root, site);

    private AgentProcess StartSite(string site, string netns, string prefix, params string[] more)
    {
        var keys = Path.Combine(Folder(site), "mesh");
        var identity = MemberIdentity.EnsureKeys(keys);
        WatchKeys(site);
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

    /// <summary>
    /// Reads the site's two key files every 20 ms from before its agent starts until the test has stopped it:
    /// site-2 rotates its WireGuard key every 4 s, so no key it ever had goes unseen.
    /// </summary>
    private void WatchKeys(string site)
    {
        foreach (var file in new[] { MemberIdentity.IdentityKeyFile, MemberIdentity.WireGuardKeyFile })
        {
            var path = Path.Combine(Folder(site), "mesh", file);
            var seen = new HashSet<string>();
            _keysSeen[$"{site}/{file}"] = seen;
            RecordKey(path, seen);
            _watchers.Add(Task.Run(async () =>
            {
                while (!_watching.IsCancellationRequested)
                {
                    RecordKey(path, seen);
                    try
                    {
                        await Task.Delay(20, _watching.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }));
        }
    }

    private static void RecordKey(string path, HashSet<string> seen)
    {
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return;
        }
        if (text.Length > 0)
        {
            lock (seen)
                seen.Add(text);
        }
    }

    /// <summary>The ways the code could write a 32-byte key: base64 (as wg and the key files print it), hex (as UAPI carries it), raw.</summary>
    private static (string Encoding, byte[] Pattern)[] Encodings(byte[] key) =>
    [
        ("base64", System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key))),
        ("hex", System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(key))),
        ("HEX", System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(key))),
        ("raw", key),
    ];

    /// <summary>All bytes of a site's database and its -wal and -shm files, those that exist.</summary>
    private IEnumerable<(string Where, byte[] Bytes)> Database(string site, string when) =>
        new[] { "", "-wal", "-shm" }.Select(suffix => Path.Combine(Folder(site), "site.db" + suffix)).Where(File.Exists)
            .Select(path => ($"{site} {Path.GetFileName(path)} ({when})", File.ReadAllBytes(path)));

    private static (string Where, byte[] Bytes) Text(string where, string text) => (where, System.Text.Encoding.UTF8.GetBytes(text));

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

        // A refused announcement shows in mesh status, the metric and the log, by its reason.
        var socketOne = Path.Combine(Folder("site-1"), "agent.sock");
        Assert.DoesNotMatch(@"refused: .*malformed", Command.Run(cli, ["mesh", "status", "--socket", socketOne]).Stdout);
        using (var lan = Patronus.Netlink.NetNs.OpenNamed(two))
        using (var sender = lan.RunOnThisThread(() => new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp)))
            sender.SendTo(new byte[40], new IPEndPoint(IPAddress.Parse("172.30.0.1"), 51821));
        var refused = default(CommandResult);
        Assert.True(await Poll.UntilAsync(() => System.Text.RegularExpressions.Regex.IsMatch((refused = Command.Run(cli, ["mesh", "status", "--socket", socketOne])).Stdout, @"Announcements refused: .*malformed [1-9]"),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), refused.Stdout);
        var refusedMetrics = await first.MetricsAsync();
        Assert.True(AgentProcess.Sample(refusedMetrics, "patronus_mesh_announcements_rejected_total{reason=\"malformed\"}") >= 1, refusedMetrics);
        Assert.Contains(first.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"Announcement refused \(Malformed\) from (172\.30\.0\.2|\[::ffff:172\.30\.0\.2\]):"));

        // The rotation on request: a new key, announced, and the sites still reach each other.
        var rotated = Command.Run(cli, ["mesh", "rotate-keys", "--socket", socketOne]);
        Assert.True(rotated.ExitCode == 0, rotated.Stderr);
        Assert.True(await Poll.UntilAsync(() => Ping(one, "10.30.1.1", "10.30.2.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)));

        // By now site-2 has replaced its key on schedule at least once, and the sites kept reaching each other.
        Assert.True(await Poll.UntilAsync(() => File.ReadAllText(Path.Combine(Folder("site-2"), "mesh", MemberIdentity.WireGuardKeyFile)) != firstKeyOfTwo, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)));
        Assert.Contains(second.Lines, l => l.Contains("replaced (schedule)"));
        Assert.True(await Poll.UntilAsync(() => Ping(two, "10.30.2.1", "10.30.1.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)));

        // What each site shows, after the rotations: status and mesh status (table and json), /metrics, the database as it runs.
        var exposed = new List<(string Where, byte[] Bytes)>();
        foreach (var (site, agent) in new[] { ("site-1", first), ("site-2", second) })
        {
            var socket = Path.Combine(Folder(site), "agent.sock");
            foreach (var arguments in new string[][] { ["status"], ["status", "-o", "json"], ["mesh", "status"], ["mesh", "status", "-o", "json"] })
            {
                var shown = Command.Run(cli, [.. arguments, "--socket", socket]);
                Assert.True(shown.ExitCode == 0, $"{site} {string.Join(' ', arguments)}: {shown.Stderr}");
                exposed.Add(Text($"{site} `patronus {string.Join(' ', arguments)}`", shown.Stdout + shown.Stderr));
            }
            exposed.Add(Text($"{site} /metrics", await agent.MetricsAsync()));
            exposed.AddRange(Database(site, "running"));
        }
        exposed.AddRange([Text("site-1 mesh status (earlier)", table.Stdout + json + status), Text("site-1 /metrics (earlier)", metrics + later + refusedMetrics)]);
        // The search looks where keys are shown: site-1's mesh status shows the public half of the key in its file.
        Assert.Contains("WireGuard key " + Convert.ToBase64String(Patronus.WireGuard.KeyFile.Read(Path.Combine(Folder("site-1"), "mesh", MemberIdentity.WireGuardKeyFile), Patronus.WireGuard.KeyKind.Private).PublicKey().Bytes),
            System.Text.Encoding.UTF8.GetString(exposed.Single(e => e.Where == "site-1 `patronus mesh status`").Bytes));

        // SIGINT (Ctrl-C in a terminal) ends a site as cleanly as SIGTERM: exit code 0, said so in its log, and the tunnel
        // outlives it (its device stays, the other site still reaches it).
        var interfaceOfTwo = _interfaces[1];
        Assert.Equal(0, second.Interrupt(TimeSpan.FromSeconds(15)));
        Assert.Contains(second.Lines, l => l.Contains($"Mesh gateway stopped with the agent: {interfaceOfTwo} and its tunnels stay up"));
        Assert.Contains($"{interfaceOfTwo}:", Ip(two, $"link show dev {interfaceOfTwo}"));
        Assert.True(await Poll.UntilAsync(() => Ping(one, "10.30.1.1", "10.30.2.1"), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)),
            $"the tunnel outlives the agent (SIGINT); site-2's last lines:\n{string.Join('\n', second.Lines.TakeLast(15))}");

        // SIGTERM ends it cleanly; the tunnel outlives it.
        Assert.Equal(0, first.Terminate(TimeSpan.FromSeconds(15)));
        Assert.Contains(first.Lines, l => l.Contains($"Mesh gateway stopped with the agent: {_interfaces[0]} and its tunnels stay up"));
        Assert.Contains($"{_interfaces[0]}:", Ip(one, $"link show dev {_interfaces[0]}"));
        Assert.True(Ping(one, "10.30.1.1", "10.30.2.1"), "the tunnel outlives the agent");

        // Both stopped: every key they ever had is known, their whole logs (stdout and stderr) are written, their databases closed.
        await _watching.CancelAsync();
        await Task.WhenAll(_watchers);
        foreach (var site in new[] { "site-1", "site-2" })
        {
            foreach (var file in new[] { MemberIdentity.IdentityKeyFile, MemberIdentity.WireGuardKeyFile })
            {
                var path = Path.Combine(Folder(site), "mesh", file);
                RecordKey(path, _keysSeen[$"{site}/{file}"]);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
            exposed.AddRange(Database(site, "stopped"));
        }
        exposed.Add(Text("site-1 log", string.Join("\n", first.Lines)));
        exposed.Add(Text("site-2 log", string.Join("\n", second.Lines)));
        // No rotation went unseen: one WireGuard key per replacement the log reports, plus the first; one identity key each.
        var rotationsOfOne = first.Lines.Count(l => l.Contains("WireGuard key of") && l.Contains("replaced ("));
        var rotationsOfTwo = second.Lines.Count(l => l.Contains("WireGuard key of") && l.Contains("replaced ("));
        Assert.True(rotationsOfOne >= 1 && rotationsOfTwo >= 1, $"rotations: site-1 {rotationsOfOne}, site-2 {rotationsOfTwo}");
        Assert.Equal(rotationsOfOne + 1, _keysSeen[$"site-1/{MemberIdentity.WireGuardKeyFile}"].Count);
        Assert.Equal(rotationsOfTwo + 1, _keysSeen[$"site-2/{MemberIdentity.WireGuardKeyFile}"].Count);
        Assert.Contains(firstKeyOfTwo.Trim(), _keysSeen[$"site-2/{MemberIdentity.WireGuardKeyFile}"]);
        Assert.Single(_keysSeen[$"site-1/{MemberIdentity.IdentityKeyFile}"]);
        Assert.Single(_keysSeen[$"site-2/{MemberIdentity.IdentityKeyFile}"]);
        _output.WriteLine($"searched {exposed.Count} places ({exposed.Sum(e => e.Bytes.Length)} bytes) for {_keysSeen.Values.Sum(k => k.Count)} private keys; rotations: site-1 {rotationsOfOne}, site-2 {rotationsOfTwo}");

        // No private key anywhere it could leak, in any encoding.
        foreach (var (owner, keys) in _keysSeen)
        {
            foreach (var (key, index) in keys.Select((k, i) => (Convert.FromBase64String(k), i)))
            {
                foreach (var (encoding, pattern) in Encodings(key))
                {
                    foreach (var (where, bytes) in exposed)
                        Assert.False(bytes.AsSpan().IndexOf(pattern) >= 0, $"{owner} key #{index} found in {where} ({encoding})");
                }
            }
        }
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
        _watching.Cancel();
        Task.WaitAll(_watchers);
        _watching.Dispose();
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
