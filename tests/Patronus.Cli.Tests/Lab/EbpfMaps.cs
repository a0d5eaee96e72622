using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Patronus.Cli.Tests.Lab;

/// <summary>
/// The eBPF datapath's pinned maps as bpftool reads them, independently of the agent: per endpoint address, the
/// peer and port entries of its rule sets (the ids, which a restarted agent picks afresh, left out) and its drop
/// counters' labels; and how many rule entries exist in all, so entries left from an older generation show.
/// </summary>
internal static class EbpfMaps
{
    public static string Normalized(string bpffs)
    {
        var pins = Path.Combine(bpffs, "patronus", "v2");
        var endpoints = Dump(Path.Combine(pins, "endpoints"));
        var peers = Dump(Path.Combine(pins, "peer_rules"));
        var ports = Dump(Path.Combine(pins, "port_rules"));
        var names = Dump(Path.Combine(pins, "drop_counter_names")).ToDictionary(e => BitConverter.ToUInt32(e.Key), e => Encoding.UTF8.GetString(e.Value).TrimEnd('\0'));

        var lines = new List<string>();
        foreach (var (address, value) in endpoints.OrderBy(e => Convert.ToHexString(e.Key)))
        {
            var line = new StringBuilder(Convert.ToHexString(address));
            foreach (var (direction, offset) in new[] { ("ingress", 0), ("egress", 4) })
            {
                var ruleset = BitConverter.ToUInt32(value, offset);
                var counter = BitConverter.ToUInt32(value, offset + 8);
                line.Append($" | {direction}: ");
                if (ruleset == 0)
                {
                    line.Append("open");
                    continue;
                }
                line.Append($"counter {names.GetValueOrDefault(counter, "?")}; ");
                line.Append(string.Join(",", Entries(peers, ruleset)));
                line.Append("; ");
                line.Append(string.Join(",", Entries(ports, ruleset)));
            }
            lines.Add(line.ToString());
        }
        lines.Add($"peer entries {peers.Count}, port entries {ports.Count}");
        return string.Join('\n', lines);
    }

    private static IEnumerable<string> Entries(List<(byte[] Key, byte[] Value)> map, uint ruleset) => map
        .Where(e => BitConverter.ToUInt32(e.Key, 4) == ruleset)
        .Select(e =>
        {
            var key = (byte[])e.Key.Clone();
            Array.Clear(key, 4, 4);
            return $"{Convert.ToHexString(key)}={Convert.ToHexString(e.Value)}";
        })
        .Order(StringComparer.Ordinal);

    private static List<(byte[] Key, byte[] Value)> Dump(string pinned)
    {
        var start = new ProcessStartInfo("bpftool", ["-j", "map", "dump", "pinned", pinned]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"bpftool map dump pinned {pinned}: {error}{text}");
        return JsonNode.Parse(text)!.AsArray()
            .Select(e => (Bytes(e!["key"]!), Bytes(e!["value"]!)))
            .ToList();
    }

    private static byte[] Bytes(JsonNode node) =>
        node.AsArray().Select(b => Convert.ToByte(b!.GetValue<string>(), 16)).ToArray();
}
