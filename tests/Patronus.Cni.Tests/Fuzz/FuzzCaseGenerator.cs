using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Patronus.Cni.Tests.Fuzz;

/// <summary>One plugin run the fuzzer makes: a verb, an environment, stdin, and what was done to get them.</summary>
public sealed record FuzzCase(string Verb, IReadOnlyDictionary<string, string> Environment, byte[] Stdin, string Description)
{
    public string ContainerId => Environment.GetValueOrDefault("CNI_CONTAINERID", "");

    public string IfName => Environment.GetValueOrDefault("CNI_IFNAME", "");
}

/// <summary>
/// Valid configs and environments, mutated the ways a careless or hostile operator (or a corrupted file) would:
/// deleted keys, values of the wrong JSON type, odd strings and numbers, huge and deep documents, raw byte
/// flips, odd environment values. Deterministic for a seed.
/// </summary>
/// <remarks>
/// Three values are never mutated, because the plugin would then act outside the fuzz's own folders and
/// namespaces: <c>ipam.dataDir</c>, <c>sdwan.agent_socket</c> and <c>sdwan.agent_spool_dir</c> (their defaults are
/// the machine's real paths). JSON mutations put them back when their object survives; raw mutations never touch
/// their bytes, and a raw result that would still parse without them is discarded (<see cref="Unsafe"/>).
/// Likewise CNI_NETNS only ever names the fuzz's own namespaces or files that are none.
/// </remarks>
public sealed class FuzzCaseGenerator
{
    private static readonly string[] OddStrings =
    [
        "", " ", "%d", "x%d", "a/b", "..", ".", "a:b", "\t", "a\u0001b", "a\u00a0b", "àb", "ééééééééééééééé", "ééééééééé",
        "😀", new string('a', 16), new string('a', 15), new string('x', 5000), "10.0.0.1", "::1", "10.0.0.0/8", "fd00::/200",
        "10.231.0.5/8", "abc", "-1", "0", "null", "true", "{}", "\"", "\\", "€", "\u2028", "patronus-cni", "host-local",
        "patronus-ipam", "../../x", "/dev/null", "0.3.1", "1.1.0", "0.4.0", "0.2.0", "99.0.0", "ff:ff:ff:ff:ff:ff",
        "0a:58:0a:01:00:05", "1.2.3.4.5", "eth0", "lo", "cni-bridge0",
    ];

    private static readonly string[] OddNumbers =
    [
        "0", "-1", "1", "7", "8", "67", "68", "575", "576", "1279", "1280", "1500", "65535", "65536", "2147483647",
        "2147483648", "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808", "18446744073709551616",
        "1e999", "-1e999", "1.5", "1e-9", "0.0", "-0", "80000000000", "800000",
    ];

    /// <summary>Bytes that change a JSON document's structure rather than a value's text.</summary>
    private static readonly byte[] Structural = "{}[]\",:\\0 "u8.ToArray();

    private static readonly string[] OddValues = ["null", "true", "false", "0", "\"x\"", "[]", "{}", "[1,\"a\",null]", "{\"a\":{}}", "\"\""];

    private readonly Random _random;
    private readonly FuzzWorld _world;
    private readonly Dictionary<string, string> _raw = new();

    public FuzzCaseGenerator(int seed, FuzzWorld world)
    {
        _random = new Random(seed);
        _world = world;
    }

    /// <summary>Cases whose raw mutation would have let the plugin reach the machine's real paths; skipped.</summary>
    public int Unsafe { get; private set; }

    public FuzzCase Next(int index)
    {
        while (true)
        {
            if (TryNext(index) is { } fuzzCase)
                return fuzzCase;
            Unsafe++;
        }
    }

    private FuzzCase? TryNext(int index)
    {
        _raw.Clear();
        var notes = new List<string>();
        var (baseName, conf) = _world.BaseConfigs[_random.Next(_world.BaseConfigs.Count)];
        var root = JsonNode.Parse(conf)!;
        notes.Add($"base {baseName}");
        var verb = Pick(["ADD", "ADD", "ADD", "ADD", "ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"]);
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = verb,
            ["CNI_CONTAINERID"] = $"pcni-fz-{index}",
            ["CNI_NETNS"] = _world.PodPath,
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = "/usr/lib/cni",
        };

        var rawMutations = new List<Func<byte[], List<(int Start, int End)>, byte[]>>();
        var count = _random.Next(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        for (var m = 0; m < count; m++)
        {
            switch (_random.Next(100))
            {
                case < 25: root = SetKnownField(root, notes); break;
                case < 35: root = DeleteKey(root, notes); break;
                case < 45: root = Replace(root, notes, "type swap", () => Pick(OddValues)); break;
                case < 53: root = Replace(root, notes, "odd string", () => JsonSerializer.Serialize(Pick(OddStrings))); break;
                case < 59: root = Replace(root, notes, "odd number", () => Pick(OddNumbers)); break;
                case < 61: root = Set(root, notes, "huge", "x", Huge()); break;
                case < 63: root = Set(root, notes, "deep", Pick(["x", "ipam", "runtimeConfig", "prevResult"]), Deep()); break;
                case < 70: root = Set(root, notes, "runtimeConfig", "runtimeConfig", RuntimeConfig()); break;
                case < 74: root = Set(root, notes, "prevResult", "prevResult", PrevResult()); if (_random.Next(2) == 0) env["CNI_COMMAND"] = verb = "CHECK"; break;
                case < 80: root = Set(root, notes, "ipam", "ipam", Ipam()); break;
                case < 94: MutateEnvironment(env, notes); break;
                case < 98: rawMutations.Add(FlipBytes(notes)); break;
                case < 99: rawMutations.Add(InsertBytes(notes)); break;
                default: rawMutations.Add(Truncate(notes)); break;
            }
        }

        verb = env.GetValueOrDefault("CNI_COMMAND", "");
        KeepOnOurPaths(root);
        var text = root.ToJsonString();
        foreach (var (placeholder, value) in _raw)
            text = text.Replace($"\"{placeholder}\"", value);
        var bytes = Encoding.UTF8.GetBytes(text);
        var protectedSpans = ProtectedSpans(bytes);
        foreach (var mutate in rawMutations)
            bytes = mutate(bytes, protectedSpans);
        if (!StaysOnOurPaths(bytes))
            return null;

        return new FuzzCase(verb, env, bytes, $"{verb}: {string.Join("; ", notes)}");
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    /// <summary>Raw JSON text that survives JsonNode: stored behind a placeholder string and swapped in at the end.</summary>
    private JsonNode RawValue(string json)
    {
        var placeholder = $"@fuzz-raw-{_raw.Count}@";
        _raw[placeholder] = json;
        return JsonValue.Create(placeholder);
    }

    /// <summary>Every value in the tree with the container it sits in, so one can be replaced or removed.</summary>
    private static List<(JsonNode Parent, string? Key, int Index, string Path)> Slots(JsonNode root)
    {
        var slots = new List<(JsonNode, string?, int, string)>();
        void Walk(JsonNode node, string path)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (key, value) in o.ToList())
                    {
                        slots.Add((o, key, -1, $"{path}.{key}"));
                        if (value is not null)
                            Walk(value, $"{path}.{key}");
                    }
                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        slots.Add((a, null, i, $"{path}[{i}]"));
                        if (a[i] is { } item)
                            Walk(item, $"{path}[{i}]");
                    }
                    break;
            }
        }

        Walk(root, "");
        return slots;
    }

    /// <summary>Fields the plugin reads, so a mutation lands where it means something more often than a random slot would.</summary>
    private static readonly string[] KnownFields =
    [
        "cniVersion", "name", "type", "bridge", "bridge", "mtu", "mtu", "isGateway", "isDefaultGateway", "hairpinMode", "promiscMode",
        "ipMasq", "vlan", "ipam.type", "ipam.subnet", "ipam.rangeStart", "ipam.gateway", "ipam.routes", "dns", "dns.nameservers",
        "sdwan", "sdwan.enable_policy_enforcement", "sdwan.cluster_id", "sdwan.default_qos_class", "sdwan.database",
        "runtimeConfig.bandwidth.ingressRate", "runtimeConfig.bandwidth.egressBurst", "runtimeConfig.ips", "runtimeConfig.mac",
        "cni.dev/valid-attachments", "prevResult.ips",
    ];

    /// <summary>Values each field is most likely to be wrong with: the edges of what the kernel and the spec accept.</summary>
    private static readonly Dictionary<string, string[]> FieldEdges = new()
    {
        ["bridge"] = ["\"x%d\"", "\"\"", "\"a b\"", "\"ééééééééé\"", "\".\"", "\"a/b\"", "\"a:b\"", "\"àb\"", "\"a\\u0001b\"", "\"pcni-bridge-too-long\"", "\"lo\""],
        ["mtu"] = ["576", "1279", "1280", "67", "65536", "-1", "1e999", "1500.5"],
        ["dns.nameservers"] = ["[\"abc\"]", "[\"10.0.0.1/8\"]", "[\"\"]", "[\"::1\",\"fe80::1%eth0\"]", "[1]"],
        ["runtimeConfig.ips"] = ["[\"10.231.0.5/8\"]", "[\"10.231.0.5/24\"]", "[\"fd00:231::5/120\"]", "[\"10.231.0.5\",\"10.231.0.6\"]", "[\"10.9.9.9\"]"],
        ["runtimeConfig.bandwidth.ingressRate"] = ["1", "7", "8", "80000000000", "-1", "9223372036854775807"],
        ["runtimeConfig.bandwidth.egressBurst"] = ["1", "7", "8", "8000000000", "34359738360", "-1"],
        ["ipam.type"] = ["\"patronus-cni\"", "\"pcni-copied-ipam\"", "\"host-local\"", "\"../x\"", "\"\""],
        ["prevResult.ips"] = ["[{\"address\":\"10.9.0.2/24\",\"interface\":5}]", "[{\"address\":\"10.9.0.2/24\",\"interface\":-1}]", "[{\"address\":\"10.9.0.2/24\",\"interface\":0}]"],
    };

    private JsonNode SetKnownField(JsonNode root, List<string> notes)
    {
        if (root is not JsonObject o)
            return root;
        var field = Pick(KnownFields);
        if (FieldEdges.TryGetValue(field, out var edges) && _random.Next(10) < 7)
        {
            o = SetPath(o, field, Pick(edges), notes);
            return o;
        }

        var path = field.Split('.');
        var parent = o;
        foreach (var step in path[..^1])
        {
            if (parent[step] is not JsonObject next)
                parent[step] = next = new JsonObject();
            parent = next;
        }

        var value = _random.Next(4) switch
        {
            0 => Pick(OddNumbers),
            1 => Pick(OddValues),
            2 => "[" + JsonSerializer.Serialize(Pick(OddStrings)) + "]",
            _ => JsonSerializer.Serialize(Pick(OddStrings)),
        };
        parent[path[^1]] = RawValue(value);
        notes.Add($"field {string.Join('.', path)} = {Shorten(value)}");
        return root;
    }

    private JsonObject SetPath(JsonObject root, string field, string value, List<string> notes)
    {
        var path = field.Split('.');
        var parent = root;
        foreach (var step in path[..^1])
        {
            if (parent[step] is not JsonObject next)
                parent[step] = next = new JsonObject();
            parent = next;
        }

        parent[path[^1]] = RawValue(value);
        notes.Add($"field {field} = {Shorten(value)}");
        return root;
    }

    private JsonNode DeleteKey(JsonNode root, List<string> notes)
    {
        var slots = Slots(root);
        if (slots.Count == 0)
            return root;
        var (parent, key, index, path) = Pick(slots);
        if (key is not null)
            ((JsonObject)parent).Remove(key);
        else
            ((JsonArray)parent).RemoveAt(index);
        notes.Add($"deleted {path}");
        return root;
    }

    private JsonNode Replace(JsonNode root, List<string> notes, string what, Func<string> value)
    {
        var slots = Slots(root);
        var json = value();
        if (slots.Count == 0 || _random.Next(20) == 0)
        {
            notes.Add($"{what}: root = {Shorten(json)}");
            return RawValue(json);
        }

        var (parent, key, index, path) = Pick(slots);
        if (key is not null)
            ((JsonObject)parent)[key] = RawValue(json);
        else
            ((JsonArray)parent)[index] = RawValue(json);
        notes.Add($"{what}: {path} = {Shorten(json)}");
        return root;
    }

    private JsonNode Set(JsonNode root, List<string> notes, string what, string key, string json)
    {
        if (root is JsonObject o)
        {
            o[key] = RawValue(json);
            notes.Add($"{what}: .{key} = {Shorten(json)}");
        }

        return root;
    }

    private string Huge() => _random.Next(4) switch
    {
        0 => JsonSerializer.Serialize(new string('h', 2_000_000)),
        1 => "[" + string.Join(",", Enumerable.Range(0, 200_000)) + "]",
        2 => "{" + string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"\"k{i}\":{i}")) + "}",
        _ => "[" + string.Join(",", Enumerable.Range(0, 2_000).Select(i => $"[{{\"subnet\":\"10.{100 + (i / 250)}.{i % 250}.0/24\"}}]")) + "]",
    };

    private string Deep()
    {
        var depth = Pick([10, 62, 63, 64, 65, 100, 1000, 100_000]);
        return _random.Next(2) == 0
            ? new string('[', depth) + new string(']', depth)
            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
    }

    private string RuntimeConfig()
    {
        var parts = new List<string>();
        if (_random.Next(2) == 0)
        {
            var keys = new[] { "ingressRate", "ingressBurst", "egressRate", "egressBurst" };
            parts.Add("\"bandwidth\":{" + string.Join(",", keys.Where(_ => _random.Next(3) > 0).Select(k => $"\"{k}\":{Pick(OddNumbers)}")) + "}");
        }

        if (_random.Next(2) == 0)
        {
            var ips = new[] { "10.231.0.9", "10.231.0.9/24", "10.231.0.9/8", "10.231.0.1", "10.231.0.0", "10.231.0.255", "fd00:231::9",
                "fd00:231::9/64", "fd00:231::9/120", "10.9.9.9", "::ffff:10.231.0.7", "abc", "", "10.231.0.300" };
            parts.Add("\"ips\":[" + string.Join(",", Enumerable.Range(0, _random.Next(4)).Select(_ => JsonSerializer.Serialize(Pick(ips)))) + "]");
        }

        if (_random.Next(3) == 0)
            parts.Add("\"mac\":" + JsonSerializer.Serialize(Pick(["0a:58:0a:01:00:05", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "0a-58-0a-01-00-06", "zz", ""])));
        if (_random.Next(4) == 0)
            parts.Add("\"io.kubernetes.cri.pod-annotations\":{\"patronus.io/qos-class\":" + Pick(OddValues) + "}");
        return "{" + string.Join(",", parts) + "}";
    }

    private string PrevResult()
    {
        var index = Pick(["0", "1", "2", "5", "-1", "2147483648", "\"0\"", "null"]);
        var address = JsonSerializer.Serialize(Pick(["10.231.0.2/24", "10.231.0.2", "fd00:231::2/64", "x", "10.231.0.2/33"]));
        return $$"""{"cniVersion":"1.1.0","interfaces":[{"name":"pcnibr"},{"name":"pat000000000000"},{"name":"eth0","sandbox":"{{_world.PodPath}}"}],"ips":[{"address":{{address}},"interface":{{index}},"gateway":"10.231.0.1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.231.0.1"}]}""";
    }

    private string Ipam()
    {
        var type = Pick(["patronus-ipam", "patronus-ipam", "patronus-ipam", "host-local", "patronus-cni", "pcni-copied-ipam", "no-such-ipam"]);
        var subnet = Pick(["10.231.0.0/24", "10.231.0.0/30", "10.231.0.0/31", "10.231.0.0/32", "10.0.0.0/8", "0.0.0.0/0",
            "fd00:231::/64", "fd00:231::/127", "fd00:231::/120", "10.231.0.1/24", "abc"]);
        var parts = new List<string> { $"\"type\":\"{type}\"" };
        switch (_random.Next(3))
        {
            case 0:
                parts.Add($"\"subnet\":\"{subnet}\"");
                if (_random.Next(2) == 0)
                    parts.Add("\"rangeStart\":" + JsonSerializer.Serialize(Pick(["10.231.0.10", "10.231.0.200", "10.9.0.1", "fd00:231::5"])));
                if (_random.Next(2) == 0)
                    parts.Add("\"rangeEnd\":" + JsonSerializer.Serialize(Pick(["10.231.0.20", "10.231.0.5", "10.231.0.255"])));
                if (_random.Next(2) == 0)
                    parts.Add("\"gateway\":" + JsonSerializer.Serialize(Pick(["10.231.0.1", "10.231.0.254", "10.9.0.1", "fd00:231::1"])));
                break;
            case 1:
                var sets = Pick([0, 1, 2, 3, 9, 20]);
                parts.Add("\"ranges\":[" + string.Join(",", Enumerable.Range(0, sets).Select(i =>
                    i switch { 0 => "[{\"subnet\":\"10.231.0.0/24\"}]", 1 => "[{\"subnet\":\"fd00:231::/64\"}]", _ => $"[{{\"subnet\":\"10.{100 + i}.0.0/24\"}}]" })) + "]");
                break;
            default:
                parts.Add($"\"ranges\":[[{{\"subnet\":\"{subnet}\"}},{{\"subnet\":\"{Pick(["10.231.1.0/24", "10.231.0.0/25", "fd00:232::/64"])}\"}}]]");
                break;
        }

        if (_random.Next(3) == 0)
            parts.Add("\"routes\":[{\"dst\":" + JsonSerializer.Serialize(Pick(["0.0.0.0/0", "192.168.0.0/16", "10.1.2.3/8", "::/0", "x"]))
                + (_random.Next(2) == 0 ? ",\"gw\":" + JsonSerializer.Serialize(Pick(["10.231.0.1", "10.99.0.1", "fd00:231::1", "y"])) : "") + "}]");
        parts.Add($"\"dataDir\":\"{_world.DataDir}\"");
        return "{" + string.Join(",", parts) + "}";
    }

    private void MutateEnvironment(Dictionary<string, string> env, List<string> notes)
    {
        var variable = Pick(["CNI_COMMAND", "CNI_IFNAME", "CNI_IFNAME", "CNI_IFNAME", "CNI_CONTAINERID", "CNI_NETNS", "CNI_NETNS", "CNI_NETNS", "CNI_NETNS", "CNI_ARGS", "CNI_PATH", "unset"]);
        string value;
        switch (variable)
        {
            case "unset":
                var gone = Pick(env.Keys.ToList());
                env.Remove(gone);
                notes.Add($"unset {gone}");
                return;
            case "CNI_COMMAND":
                value = Pick(["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION", "add", "", "FROB", "ADD\n", "ADD "]);
                break;
            case "CNI_IFNAME":
                value = Pick(["eth1", "net0", "", "%d", "eth%d", "a/b", ".", "..", "a:b", "a b", "a\tb", "e\u0001", "a\u00a0b", "àb",
                    "ééééééééé", "ééééééé", new string('e', 15), new string('e', 16), "lo", "😀", "a\u2028b"]);
                break;
            case "CNI_CONTAINERID":
                value = Pick(["", "../../x", "a b", "é", new string('a', 900), "-x", "x;y", "pcni-fz-other", "a\u0001"]);
                break;
            case "CNI_NETNS":
                value = Pick([_world.Fifo, _world.Fifo, _world.RegularFile, _world.Directory, "/proc/self/ns/net", "/proc/self/ns/net", "/proc/thread-self/ns/net",
                    _world.NodePath, "/dev/null", "/proc/self/ns/mnt", "/var/run/netns/pcni-fz-does-not-exist", "relative/netns", "",
                    _world.OtherPodPath]);
                break;
            case "CNI_ARGS":
                value = Pick(["", "K8S_POD_NAME", "IgnoreUnknown=1;A=B", "A=B", "K8S_POD_NAME=evil pod", ";;;", "=",
                    "IgnoreUnknown=true;K8S_POD_NAMESPACE=" + new string('a', 5000), "K8S_POD_UID=\u0001", "IgnoreUnknown=maybe;X=1"]);
                break;
            default:
                value = Pick(["", "/nonexistent", "/usr/lib/cni:/nonexistent", _world.SelfPath, "::::", "relative"]);
                break;
        }

        env[variable] = value;
        notes.Add($"{variable}={Shorten(JsonSerializer.Serialize(value))}");
    }

    private Func<byte[], List<(int Start, int End)>, byte[]> FlipBytes(List<string> notes)
    {
        var flips = 1 + _random.Next(4);
        var seed = _random.Next();
        notes.Add($"{flips} byte flips (seed {seed})");
        return (bytes, spans) =>
        {
            var random = new Random(seed);
            var result = (byte[])bytes.Clone();
            for (var i = 0; i < flips && result.Length > 0; i++)
            {
                var at = random.Next(result.Length);
                if (!spans.Any(s => at >= s.Start && at < s.End))
                    result[at] = random.Next(3) switch { 0 => (byte)(result[at] ^ (1 << random.Next(8))), 1 => (byte)random.Next(256), _ => Structural[random.Next(Structural.Length)] };
            }

            return result;
        };
    }

    private Func<byte[], List<(int Start, int End)>, byte[]> InsertBytes(List<string> notes)
    {
        var seed = _random.Next();
        notes.Add($"inserted bytes (seed {seed})");
        return (bytes, spans) =>
        {
            var random = new Random(seed);
            var at = random.Next(bytes.Length + 1);
            if (spans.Any(s => at > s.Start && at < s.End))
                return bytes;
            var insert = new byte[1 + random.Next(8)];
            random.NextBytes(insert);
            return [.. bytes[..at], .. insert, .. bytes[at..]];
        };
    }

    private Func<byte[], List<(int Start, int End)>, byte[]> Truncate(List<string> notes)
    {
        var seed = _random.Next();
        notes.Add($"truncated (seed {seed})");
        return (bytes, _) => bytes[..new Random(seed).Next(bytes.Length + 1)];
    }

    /// <summary>JSON mutations may have removed or replaced a protected value: put ours back where its object survived.</summary>
    private void KeepOnOurPaths(JsonNode root)
    {
        if (root is not JsonObject o)
            return;
        if (o["ipam"] is JsonObject ipam)
        {
            ipam["dataDir"] = _world.DataDir;
            // host-local makes dataDir/<name> without checking the name; keep it one folder inside ours.
            if (ipam["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "host-local")
                o["name"] = FuzzWorld.NetworkName;
        }

        if (o["sdwan"] is JsonObject sdwan)
        {
            sdwan["agent_socket"] = _world.AgentSocket;
            sdwan["agent_spool_dir"] = _world.SpoolDir;
        }
    }

    private List<(int Start, int End)> ProtectedSpans(byte[] bytes)
    {
        var spans = new List<(int, int)>();
        foreach (var pair in new[] { $"\"dataDir\":\"{_world.DataDir}\"", $"\"agent_socket\":\"{_world.AgentSocket}\"", $"\"agent_spool_dir\":\"{_world.SpoolDir}\"", $"\"name\":\"{FuzzWorld.NetworkName}\"" })
        {
            var needle = Encoding.UTF8.GetBytes(pair);
            for (var at = bytes.AsSpan().IndexOf(needle); at >= 0;)
            {
                spans.Add((at, at + needle.Length));
                var next = bytes.AsSpan(at + 1).IndexOf(needle);
                at = next < 0 ? -1 : at + 1 + next;
            }
        }

        return spans;
    }

    /// <summary>False when the mutated bytes still parse but would send the plugin to the machine's real state paths.</summary>
    private bool StaysOnOurPaths(byte[] bytes)
    {
        try
        {
            using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return true;
            var root = doc.RootElement;
            if (root.TryGetProperty("ipam", out var ipam) && ipam.ValueKind == JsonValueKind.Object)
            {
                if (!HasString(ipam, "dataDir", _world.DataDir))
                    return false;
                if (HasString(ipam, "type", "host-local") && !HasString(root, "name", FuzzWorld.NetworkName))
                    return false;
            }

            return !root.TryGetProperty("sdwan", out var sdwan) || sdwan.ValueKind != JsonValueKind.Object
                || (HasString(sdwan, "agent_socket", _world.AgentSocket) && HasString(sdwan, "agent_spool_dir", _world.SpoolDir));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return true;
        }
    }

    private static bool HasString(JsonElement e, string key, string value)
    {
        // Every occurrence must be ours: with a duplicated key, which one a reader keeps is its own choice.
        var found = false;
        foreach (var p in e.EnumerateObject())
        {
            if (p.NameEquals(key))
            {
                if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() != value)
                    return false;
                found = true;
            }
        }

        return found;
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : $"{s[..60]}...({s.Length} chars)";
}
