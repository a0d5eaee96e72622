using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Ipam;

/// <summary>
/// The "ipam" object of a network config with <c>"type": "patronus-ipam"</c>. It takes host-local's keys so
/// existing configs carry over: <c>ranges</c> (a list of range sets, one address allocated from each: dual stack
/// is two sets), the one-range shorthand <c>subnet</c>/<c>rangeStart</c>/<c>rangeEnd</c>/<c>gateway</c> (prepended
/// to <c>ranges</c> as its own set, as host-local does), <c>routes</c> and <c>dataDir</c>.
/// </summary>
/// <remarks>
/// Error codes: a value of the wrong JSON type is <see cref="CniErrorCode.DecodeFailure"/> (the config cannot be
/// decoded at all); a well-typed value that makes no sense is <see cref="CniErrorCode.InvalidNetworkConfig"/>.
/// Every message starts with the path of the offending field, e.g. <c>ipam.ranges[1][0].gateway</c>.
/// </remarks>
public sealed class IpamConfig
{
    /// <summary>
    /// Range sets of one address family a network may have. Each set gives every pod one address, so this is
    /// how many addresses of a family a pod gets: dual stack needs one of each, and a handful covers any real use,
    /// while a thousand would hand every pod a thousand addresses.
    /// </summary>
    public const int MaxRangeSetsPerFamily = 4;

    /// <summary>Ranges one set may hold: every ADD may walk them all, and the overlap check compares each pair.</summary>
    public const int MaxRangesPerSet = 256;

    /// <summary>Where allocations live when the config names no <c>dataDir</c>: one folder per network name.</summary>
    public const string DefaultDataDir = "/var/lib/patronus/ipam";

    private IpamConfig(string networkName, string dataDir, IReadOnlyList<IpamRangeSet> rangeSets, IReadOnlyList<IpamRoute> routes)
    {
        NetworkName = networkName;
        DataDir = dataDir;
        RangeSets = rangeSets;
        Routes = routes;
    }

    public string NetworkName { get; }

    public string DataDir { get; }

    /// <summary>The folder holding this network's allocations: <c>dataDir/networkName</c>.</summary>
    public string NetworkDirectory => Path.Combine(DataDir, NetworkName);

    public IReadOnlyList<IpamRangeSet> RangeSets { get; }

    public IReadOnlyList<IpamRoute> Routes { get; }

    /// <summary>
    /// Parses and validates the section. <paramref name="forRemoval"/> (DEL) skips the limits on range sets and
    /// ranges: they protect what ADD hands out, and an attachment made before they existed must still be released.
    /// </summary>
    public static IpamConfig Parse(JsonElement ipam, string networkName, bool forRemoval = false)
    {
        ValidateNetworkName(networkName);
        if (ipam.ValueKind != JsonValueKind.Object)
            throw WrongType("ipam", "an object", ipam);

        var sets = new List<IpamRangeSet>();
        if (ipam.TryGetProperty("subnet", out var subnet) && subnet.ValueKind != JsonValueKind.Null)
            sets.Add(new IpamRangeSet([ParseRange(ipam, "ipam")]));
        else
            foreach (var key in (ReadOnlySpan<string>)["rangeStart", "rangeEnd", "gateway"])
                if (ipam.TryGetProperty(key, out var stray) && stray.ValueKind != JsonValueKind.Null)
                    throw Invalid($"ipam.{key}", "is set but ipam.subnet is missing (the shorthand range needs its subnet)");

        if (ipam.TryGetProperty("ranges", out var ranges) && ranges.ValueKind != JsonValueKind.Null)
        {
            if (ranges.ValueKind != JsonValueKind.Array)
                throw WrongType("ipam.ranges", "an array of range sets", ranges);
            // Counted before any is parsed: a huge list is refused without the work of reading it.
            if (!forRemoval && ranges.GetArrayLength() is var count && count > 2 * MaxRangeSetsPerFamily)
                throw TooManySets(count, "");
            var setIndex = 0;
            foreach (var set in ranges.EnumerateArray())
            {
                var setPath = $"ipam.ranges[{setIndex}]";
                if (set.ValueKind != JsonValueKind.Array)
                    throw WrongType(setPath, "an array of ranges", set);
                if (!forRemoval && set.GetArrayLength() > MaxRangesPerSet)
                    throw Invalid(setPath, $"{set.GetArrayLength()} ranges; a range set holds at most {MaxRangesPerSet}");
                var list = new List<IpamRange>();
                var rangeIndex = 0;
                foreach (var range in set.EnumerateArray())
                {
                    var rangePath = $"{setPath}[{rangeIndex}]";
                    if (range.ValueKind != JsonValueKind.Object)
                        throw WrongType(rangePath, "an object", range);
                    list.Add(ParseRange(range, rangePath));
                    rangeIndex++;
                }
                if (list.Count == 0)
                    throw Invalid(setPath, "is an empty range set");
                sets.Add(new IpamRangeSet(list));
                setIndex++;
            }
        }

        if (sets.Count == 0)
            throw Invalid("ipam.ranges", "no address range is configured (set ipam.subnet or ipam.ranges)");
        foreach (var family in sets.GroupBy(s => s.Family).Where(g => !forRemoval && g.Count() > MaxRangeSetsPerFamily))
            throw TooManySets(sets.Count, $", {family.Count()} of them {FamilyName(family.Key)}");
        ValidateRangeSets(sets);

        return new IpamConfig(networkName, ParseDataDir(ipam), sets, ParseRoutes(ipam));
    }

    /// <summary>The range set and range holding <paramref name="address"/> as an allocatable address, if any.</summary>
    internal (int Set, IpamRange Range)? Locate(IPAddress address)
    {
        var number = AddressText.ToNumber(address);
        for (var s = 0; s < RangeSets.Count; s++)
            foreach (var range in RangeSets[s].Ranges)
                if (range.Family == address.AddressFamily && range.Contains(number))
                    return (s, range);
        return null;
    }

    private static void ValidateNetworkName(string networkName)
    {
        // The name becomes a folder under dataDir; the spec's character set for it (SPEC.md, "Network
        // configuration format": alphanumerics, '-', '_', '.') keeps it one path component.
        if (string.IsNullOrEmpty(networkName) || networkName is "." or ".."
            || !networkName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw Invalid("name", $"\"{networkName}\" is not a valid network name (letters, digits, '-', '_', '.')");
    }

    private static string ParseDataDir(JsonElement ipam)
    {
        if (!ipam.TryGetProperty("dataDir", out var dataDir) || dataDir.ValueKind == JsonValueKind.Null)
            return DefaultDataDir;
        if (dataDir.ValueKind != JsonValueKind.String)
            throw WrongType("ipam.dataDir", "a string", dataDir);
        var path = dataDir.GetString()!;
        if (!Path.IsPathFullyQualified(path) || path.Contains('\0'))
            throw Invalid("ipam.dataDir", $"\"{path}\" is not an absolute path");
        return path;
    }

    private static IpamRange ParseRange(JsonElement range, string path)
    {
        var subnetPath = $"{path}.subnet";
        var subnetText = ReadString(range, "subnet", subnetPath)
            ?? throw Invalid(subnetPath, "is missing (every range needs a subnet)");
        if (!AddressText.TryParseCidr(subnetText, out var networkAddress, out var prefix))
            throw Invalid(subnetPath, $"\"{subnetText}\" is not a valid CIDR");

        var family = networkAddress.AddressFamily;
        var bits = AddressText.BitLength(networkAddress);
        var hostMask = AddressText.HostMask(prefix, bits);
        var network = AddressText.ToNumber(networkAddress);
        if ((network & hostMask) != 0)
            throw Invalid(subnetPath, $"\"{subnetText}\" has host bits set; the network is "
                + $"{AddressText.FromNumber(network & ~hostMask, family)}/{prefix}");
        // host-local's rule: a subnet needs room for more than its network and broadcast addresses, so
        // IPv4 /31 and /32 (and IPv6 /127 and /128) are refused rather than handing out unusable addresses.
        if (prefix > bits - 2)
            throw Invalid(subnetPath, $"\"{subnetText}\" is too small to allocate from (the longest prefix is /{bits - 2})");

        var subnet = new IPNetwork(networkAddress, prefix);
        var broadcast = network | hostMask;
        // The network address (and for IPv4 the broadcast address) is never handed out. For IPv6 the top
        // address is an ordinary one, as in host-local; ::0 is the subnet-router anycast address.
        var lowest = network + 1;
        var highest = family == AddressFamily.InterNetwork ? broadcast - 1 : broadcast;

        UInt128 ReadInSubnet(string key, UInt128 fallback)
        {
            var fieldPath = $"{path}.{key}";
            var text = ReadString(range, key, fieldPath);
            if (text is null)
                return fallback;
            if (!AddressText.TryParseAddress(text, out var address))
                throw Invalid(fieldPath, $"\"{text}\" is not a valid IP address");
            if (address.AddressFamily != family)
                throw Invalid(fieldPath, $"{text} is not of the same address family as subnet {subnetText}");
            var number = AddressText.ToNumber(address);
            if ((number & ~hostMask) != network)
                throw Invalid(fieldPath, $"{text} is not inside subnet {subnetText}");
            if (number == network)
                throw Invalid(fieldPath, $"{text} is the network address of subnet {subnetText}");
            if (number == broadcast && family == AddressFamily.InterNetwork)
                throw Invalid(fieldPath, $"{text} is the broadcast address of subnet {subnetText}");
            return number;
        }

        var first = ReadInSubnet("rangeStart", lowest);
        var last = ReadInSubnet("rangeEnd", highest);
        var gateway = ReadInSubnet("gateway", lowest);
        if (first > last)
            throw Invalid($"{path}.rangeEnd", $"{AddressText.FromNumber(last, family)} comes before rangeStart {AddressText.FromNumber(first, family)}");
        if (first == last && first == gateway)
            throw Invalid(path, $"has no address to allocate: its only address {AddressText.FromNumber(first, family)} is the gateway");

        return new IpamRange(path, subnet, prefix, family, first, last, gateway);
    }

    private static void ValidateRangeSets(List<IpamRangeSet> sets)
    {
        for (var s = 0; s < sets.Count; s++)
        {
            var ranges = sets[s].Ranges;
            for (var r = 0; r < ranges.Count; r++)
            {
                // One address per set is allocated and returned with its set's prefix: a set mixing families
                // would return an IPv4 address to one container and an IPv6 one to the next.
                if (ranges[r].Family != ranges[0].Family)
                    throw Invalid($"{ranges[r].Path}.subnet", $"mixes address families within a range set ({ranges[0].Path} is {FamilyName(ranges[0].Family)})");
                for (var o = 0; o < r; o++)
                    if (ranges[r].Overlaps(ranges[o]))
                        throw Invalid(ranges[r].Path, $"overlaps {ranges[o].Path}");
            }
            for (var earlier = 0; earlier < s; earlier++)
                foreach (var mine in ranges)
                    foreach (var theirs in sets[earlier].Ranges)
                        if (mine.Overlaps(theirs))
                            throw Invalid(mine.Path, $"overlaps {theirs.Path} (range sets must not overlap)");
        }
    }

    private static List<IpamRoute> ParseRoutes(JsonElement ipam)
    {
        var routes = new List<IpamRoute>();
        if (!ipam.TryGetProperty("routes", out var list) || list.ValueKind == JsonValueKind.Null)
            return routes;
        if (list.ValueKind != JsonValueKind.Array)
            throw WrongType("ipam.routes", "an array of {dst, gw}", list);
        var index = 0;
        foreach (var route in list.EnumerateArray())
        {
            var path = $"ipam.routes[{index}]";
            if (route.ValueKind != JsonValueKind.Object)
                throw WrongType(path, "an object", route);
            var dstText = ReadString(route, "dst", $"{path}.dst") ?? throw Invalid($"{path}.dst", "is missing");
            if (!AddressText.TryParseCidr(dstText, out var dst, out var prefix))
                throw Invalid($"{path}.dst", $"\"{dstText}\" is not a valid CIDR");
            var hostMask = AddressText.HostMask(prefix, AddressText.BitLength(dst));
            if ((AddressText.ToNumber(dst) & hostMask) != 0)
                throw Invalid($"{path}.dst", $"\"{dstText}\" has host bits set");
            IPAddress? gw = null;
            if (ReadString(route, "gw", $"{path}.gw") is { } gwText)
            {
                if (!AddressText.TryParseAddress(gwText, out gw))
                    throw Invalid($"{path}.gw", $"\"{gwText}\" is not a valid IP address");
                if (gw.AddressFamily != dst.AddressFamily)
                    throw Invalid($"{path}.gw", $"{gwText} is not of the same address family as dst {dstText}");
            }
            routes.Add(new IpamRoute(new IPNetwork(dst, prefix), gw));
            index++;
        }
        return routes;
    }

    private static string? ReadString(JsonElement obj, string key, string path)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw WrongType(path, "a string", value);
        return value.GetString();
    }

    private static CniException TooManySets(int count, string ofFamily) =>
        Invalid("ipam.ranges", $"{count} range sets{ofFamily}; a network has at most {MaxRangeSetsPerFamily} per address family, as each set gives every pod one address");

    private static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";

    private static CniException Invalid(string field, string problem) =>
        new(CniErrorCode.InvalidNetworkConfig, $"{field}: {problem}");

    private static CniException WrongType(string field, string expected, JsonElement actual) =>
        new(CniErrorCode.DecodeFailure, $"{field}: expected {expected}, found {KindName(actual.ValueKind)}");

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };
}

/// <summary>One address per range set is allocated, from the first of its ranges that has a free address.</summary>
public sealed class IpamRangeSet(IReadOnlyList<IpamRange> ranges)
{
    public IReadOnlyList<IpamRange> Ranges { get; } = ranges;

    public AddressFamily Family => Ranges[0].Family;

    public override string ToString() => string.Join(",", Ranges);
}

/// <summary>A canonical range: bounds checked and defaults filled in (start .1, end the last usable, gateway .1).</summary>
public sealed class IpamRange
{
    internal IpamRange(string path, IPNetwork subnet, int prefixLength, AddressFamily family, UInt128 first, UInt128 last, UInt128 gateway)
    {
        Path = path;
        Subnet = subnet;
        PrefixLength = prefixLength;
        Family = family;
        First = first;
        Last = last;
        GatewayNumber = gateway;
        RangeStart = AddressText.FromNumber(first, family);
        RangeEnd = AddressText.FromNumber(last, family);
        Gateway = AddressText.FromNumber(gateway, family);
    }

    /// <summary>Where the range came from in the config, for messages: <c>ipam.ranges[0][1]</c> or <c>ipam</c>.</summary>
    public string Path { get; }

    public IPNetwork Subnet { get; }

    public int PrefixLength { get; }

    public AddressFamily Family { get; }

    public IPAddress RangeStart { get; }

    public IPAddress RangeEnd { get; }

    /// <summary>Returned with each address of this range and never allocated.</summary>
    public IPAddress Gateway { get; }

    internal UInt128 First { get; }

    internal UInt128 Last { get; }

    internal UInt128 GatewayNumber { get; }

    internal bool Contains(UInt128 address) => address >= First && address <= Last;

    internal bool Overlaps(IpamRange other) => Family == other.Family && First <= other.Last && other.First <= Last;

    public override string ToString() => $"{RangeStart}-{RangeEnd}";
}
