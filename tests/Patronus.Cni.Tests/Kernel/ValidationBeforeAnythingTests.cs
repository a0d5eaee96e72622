using System.Text;
using System.Text.Json.Nodes;
using Patronus.Cni.Tests.Binary;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>
/// Values the kernel would refuse, rewrite or trip over are refused by the plugin first, with the spec's code and
/// a message naming the field, before anything exists in the node or the pod: the kernel's own rules for
/// interface names (dev_valid_name, counted in bytes; '%' would make the kernel pick a name from a template),
/// IPv6's minimum MTU, tc's limits on rates and bursts, and values nothing would use as written.
/// Each case runs in a throwaway node with a real pod namespace, so a case the plugin lets through shows up as
/// a success or a kernel error here rather than in a real node.
/// </summary>
[Collection("kernel")]
public class ValidationBeforeAnythingTests
{
    // name, verb, environment overrides (K=V|K=V), config edits (path=json && path=json), code, message fragment.
    // In edits, @xFF@ becomes the raw byte 0xFF (invalid UTF-8) and @sets:N@ a list of N disjoint IPv4 range sets.
    public static TheoryData<string, string, string, string, int, string> Cases => new()
    {
        { "bridge name template", "ADD", "", "bridge=\"x%d\"", 7, "bridge \"x%d\" is not a valid interface name" },
        { "bridge name empty", "ADD", "", "bridge=\"\"", 7, "bridge is empty" },
        { "bridge name with '/'", "ADD", "", "bridge=\"a/b\"", 7, "bridge \"a/b\" is not a valid interface name" },
        { "bridge name with ':'", "ADD", "", "bridge=\"a:b\"", 7, "bridge \"a:b\" is not a valid interface name" },
        { "bridge name with a space", "ADD", "", "bridge=\"a b\"", 7, "bridge \"a b\" is not a valid interface name" },
        { "bridge name with a tab", "ADD", "", "bridge=\"a\\tb\"", 7, "is not a valid interface name" },
        { "bridge name '.'", "ADD", "", "bridge=\".\"", 7, "bridge \".\" is not a valid interface name" },
        { "bridge name '..'", "ADD", "", "bridge=\"..\"", 7, "bridge \"..\" is not a valid interface name" },
        { "bridge name 9 two-byte characters", "ADD", "", "bridge=\"ééééééééé\"", 7, "18 bytes long in UTF-8; Linux allows at most 15" },
        { "bridge name 15 two-byte characters", "ADD", "", "bridge=\"ééééééééééééééé\"", 7, "30 bytes long in UTF-8" },
        { "bridge name with a no-break space", "ADD", "", "bridge=\"a\\u00a0b\"", 7, "is not a valid interface name" },
        { "bridge name whose UTF-8 holds 0xA0", "ADD", "", "bridge=\"àb\"", 7, "0xA0" },
        { "bridge name with a control character", "ADD", "", "bridge=\"a\\u0001b\"", 7, "control character" },
        { "ifname with a control character, ADD", "ADD", "CNI_IFNAME=e\u0001", "", 4, "CNI_IFNAME" },
        { "ifname with a control character, DEL", "DEL", "CNI_IFNAME=e\u0001", "", 4, "CNI_IFNAME" },
        { "ifname template, ADD", "ADD", "CNI_IFNAME=eth%d", "", 4, "CNI_IFNAME \"eth%d\" is not a valid interface name" },
        { "ifname template, DEL", "DEL", "CNI_IFNAME=eth%d", "", 4, "CNI_IFNAME \"eth%d\" is not a valid interface name" },
        { "ifname 9 two-byte characters, ADD", "ADD", "CNI_IFNAME=ééééééééé", "", 4, "CNI_IFNAME \"ééééééééé\" is 9 characters but 18 bytes long" },
        { "ifname 9 two-byte characters, DEL", "DEL", "CNI_IFNAME=ééééééééé", "", 4, "18 bytes long in UTF-8" },
        { "ifname with a no-break space", "ADD", "CNI_IFNAME=a\u00a0b", "", 4, "CNI_IFNAME" },
        { "config not UTF-8, ADD", "ADD", "", "name=\"pcni@xFF@net\"", 6, "not valid UTF-8" },
        { "config not UTF-8, DEL", "DEL", "", "name=\"pcni@xFF@net\"", 6, "not valid UTF-8" },
        { "unpaired surrogate escape", "ADD", "", "bridge=\"\\ud800\"", 6, "bridge" },
        { "unpaired surrogate escape in a key", "ADD", "", "runtimeConfig={\"io.kubernetes.cri.pod-annotations\":{\"\\udc00\":\"x\"}}", 6, "runtimeConfig.io.kubernetes.cri.pod-annotations" },
        { "bandwidth rate 1 bit/s", "ADD", "", "runtimeConfig={\"bandwidth\":{\"ingressRate\":1,\"ingressBurst\":8000}}", 7, "runtimeConfig.bandwidth.ingressRate (1) must be at least 8" },
        { "bandwidth burst 1 bit", "ADD", "", "runtimeConfig={\"bandwidth\":{\"egressRate\":8000,\"egressBurst\":1}}", 7, "runtimeConfig.bandwidth.egressBurst (1) must be at least 8" },
        { "bandwidth burst gone in under a microsecond", "ADD", "", "runtimeConfig={\"bandwidth\":{\"ingressRate\":80000000000,\"ingressBurst\":8}}", 7, "runtimeConfig.bandwidth.ingressBurst" },
        { "bandwidth burst lasting days", "ADD", "", "runtimeConfig={\"bandwidth\":{\"egressRate\":8,\"egressBurst\":8000000000}}", 7, "runtimeConfig.bandwidth.egressBurst" },
        { "mtu 576 with an IPv6 range", "ADD", "", "mtu=576", 7, "mtu (576) is below 1280" },
        { "mtu 1279 with an IPv6 range", "ADD", "", "mtu=1279", 7, "mtu (1279) is below 1280" },
        { "nameserver not an address", "ADD", "", "dns={\"nameservers\":[\"abc\"]}", 7, "dns.nameservers[0] \"abc\" is not an IP address" },
        { "requested address with a foreign prefix", "ADD", "", "runtimeConfig={\"ips\":[\"10.231.0.5/8\"]}", 7, "runtimeConfig.ips[0] \"10.231.0.5/8\"" },
        { "1000 range sets", "ADD", "", "ipam.ranges=@sets:1000@", 7, "ipam.ranges: 1000 range sets" },
        { "prevResult interface index past the end", "ADD", "", "prevResult={\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"x\"}],\"ips\":[{\"address\":\"10.9.0.2/24\",\"interface\":5}]}", 7, "prevResult.ips[0].interface (5)" },
        { "prevResult interface index negative", "ADD", "", "prevResult={\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"x\"}],\"ips\":[{\"address\":\"10.9.0.2/24\",\"interface\":-1}]}", 7, "prevResult.ips[0].interface (-1)" },
        { "config nested 100 deep", "ADD", "", "x=" + new string('[', 100) + new string(']', 100), 6, "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadValue_IsRefusedWithTheSpecCode_BeforeAnythingIsMade(string name, string verb, string environment, string edits, int code, string message)
    {
        using var node = new Node();
        var pod = node.NewPod();
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = verb, ["CNI_CONTAINERID"] = "pcni-valid-1", ["CNI_NETNS"] = pod.Path,
            ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/usr/lib/cni",
        };
        foreach (var kv in environment.Split('|', StringSplitOptions.RemoveEmptyEntries))
        {
            env[kv[..kv.IndexOf('=')]] = kv[(kv.IndexOf('=') + 1)..];
        }

        var outcome = Plugin.Run(env, Edit(node.Conf, edits), node.Ns.Name, timeout: TimeSpan.FromSeconds(30));

        Assert.True(outcome.ExitCode != 0, $"{name}: expected failure, got {outcome}");
        Assert.True(code == outcome.ErrorCode, $"{name}: expected code {code}, got {outcome}");
        Assert.True(outcome.Message.Contains(message, StringComparison.Ordinal), $"{name}: expected \"{message}\" in {outcome}");
        MessageHygiene.AssertClean(outcome.Message, $"{name}: the message");
        MessageHygiene.AssertClean(outcome.Stderr, $"{name}: stderr");
        Assert.Equal(["lo"], node.LinkNames());
        Assert.Equal(["lo"], Node.LinkNamesOf(pod));
        Assert.Empty(node.ClaimedAddresses());
    }

    [Theory]
    [InlineData(5)]
    [InlineData(-1)]
    public void Check_PrevResultInterfaceIndexOutOfRange_Fails(int index)
    {
        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        var result = JsonNode.Parse(node.Add("pcni-valid-2", pod).GetRawText())!;
        result["ips"]![0]!["interface"] = index;

        var check = node.Invoke("CHECK", "pcni-valid-2", pod.Path, conf: node.WithMember("prevResult", result.ToJsonString()));

        Assert.True(check.ExitCode != 0, $"CHECK passed with prevResult.ips[0].interface {index}: {check}");
        Assert.Equal(7, check.ErrorCode);
        Assert.Contains($"prevResult.ips[0].interface ({index})", check.Message);
        node.Del("pcni-valid-2", pod.Path);
    }

    private static byte[] Edit(string conf, string edits)
    {
        var root = JsonNode.Parse(conf)!.AsObject();
        var placeholders = new Dictionary<string, string>();
        foreach (var edit in edits.Split(" && ", StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = edit.IndexOf('=');
            var path = edit[..eq].Split('.');
            var value = edit[(eq + 1)..];
            if (value.StartsWith("@sets:", StringComparison.Ordinal))
            {
                var count = int.Parse(value[6..^1]);
                value = "[" + string.Join(",", Enumerable.Range(0, count).Select(i => $"[{{\"subnet\":\"10.{100 + (i / 250)}.{i % 250}.0/24\"}}]")) + "]";
            }

            // Values JsonNode cannot hold (invalid text, absurd nesting) go in as raw text behind a placeholder.
            var placeholder = $"@raw{placeholders.Count}@";
            placeholders[$"\"{placeholder}\""] = value;
            var parent = root;
            foreach (var step in path[..^1])
            {
                parent = parent[step]!.AsObject();
            }

            parent[path[^1]] = placeholder;
        }

        var text = root.ToJsonString();
        foreach (var (placeholder, value) in placeholders)
        {
            text = text.Replace(placeholder, value);
        }

        var bytes = new List<byte>();
        var parts = text.Split("@xFF@");
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0)
            {
                bytes.Add(0xFF);
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(parts[i]));
        }

        return [.. bytes];
    }
}
