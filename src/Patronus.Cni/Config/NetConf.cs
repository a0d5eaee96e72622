using System.Net;
using System.Text.Json;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Config;

/// <summary>
/// The network configuration on stdin, validated. Keys the plugin does not know are ignored
/// (SPEC.md section 1: "Plugins ... must ignore fields they do not know").
/// </summary>
public sealed class NetConf
{
    public const string DefaultBridge = "cni-bridge0";
    public const int MinMtu = 576;
    public const int MaxMtu = 65535;

    public required string CniVersion { get; init; }
    public required string Name { get; init; }
    public required string Type { get; init; }
    public string Bridge { get; init; } = DefaultBridge;
    public bool IsGateway { get; init; }
    public bool IsDefaultGateway { get; init; }
    public int? Mtu { get; init; }
    public bool HairpinMode { get; init; }
    public bool PromiscMode { get; init; }

    /// <summary><c>ipam.type</c>; <see cref="IpamConf.Raw"/> holds the whole section for the IPAM itself.</summary>
    public IpamConf? Ipam { get; init; }
    public CniDns? Dns { get; init; }
    public SdwanConf? Sdwan { get; init; }
    public RuntimeConf Runtime { get; init; } = RuntimeConf.Empty;

    /// <summary>The previous plugin's result when chained (SPEC.md section 5, "prevResult").</summary>
    public CniResult? PrevResult { get; init; }

    /// <summary>GC's <c>cni.dev/valid-attachments</c> (SPEC.md, "GC"): the attachments the runtime still knows.</summary>
    public IReadOnlyList<(string ContainerId, string IfName)>? ValidAttachments { get; init; }

    /// <summary>The config exactly as received: a delegated IPAM plugin gets it unchanged on stdin.</summary>
    public required byte[] RawBytes { get; init; }

    /// <summary>Keeps the parsed document alive: <see cref="IpamConf.Raw"/> points into it.</summary>
    public required JsonDocument Document { get; init; }

    /// <summary>
    /// Parses and validates the config. With <paramref name="forRemoval"/> (DEL) only what removal reads must be
    /// valid: the version, name, type, <c>ipam</c> and <c>sdwan</c>. The settings that shape what ADD makes
    /// (bridge, MTU, DNS, runtimeConfig, prevResult, ...) are left at their defaults when they do not pass, so an
    /// attachment made under an older, laxer version of the plugin can always be removed.
    /// </summary>
    public static NetConf Parse(byte[] stdin, bool forRemoval = false)
    {
        var doc = CniJson.ParseDocument(stdin, "network configuration on stdin");
        var root = doc.RootElement;
        var f = new JsonFields("");
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new CniException(CniErrorCode.DecodeFailure, "network configuration on stdin must be a JSON object");
        }

        // The version first: a config in a version we do not speak is code 1, whatever else is wrong with it.
        var version = Spec.CniVersion.Require(f.OptString(root, "cniVersion"), "cniVersion");
        var name = f.ReqString(root, "name");
        var type = f.ReqString(root, "type");

        Creation creation;
        try
        {
            creation = ParseCreation(root, version);
        }
        catch (CniException) when (forRemoval)
        {
            creation = new Creation(DefaultBridge, false, false, null, false, false, null, RuntimeConf.Empty, null);
        }

        IpamConf? ipam = null;
        if (f.OptObject(root, "ipam") is { } ipamElement)
        {
            ipam = new IpamConf(f.ReqString(ipamElement, "type", "ipam"), ipamElement);
        }

        var sdwan = f.OptObject(root, "sdwan") is { } sdwanElement ? SdwanConf.Parse(sdwanElement) : null;
        var valid = ParseAttachments(root, "cni.dev/valid-attachments") ?? ParseAttachments(root, "cni.dev/attachments");

        return new NetConf
        {
            ValidAttachments = valid,
            CniVersion = version,
            Name = name,
            Type = type,
            Bridge = creation.Bridge,
            IsGateway = creation.IsGateway,
            IsDefaultGateway = creation.IsDefaultGateway,
            Mtu = creation.Mtu,
            HairpinMode = creation.Hairpin,
            PromiscMode = creation.Promisc,
            Ipam = ipam,
            Dns = creation.Dns,
            Sdwan = sdwan,
            Runtime = creation.Runtime,
            PrevResult = creation.PrevResult,
            RawBytes = stdin,
            Document = doc,
        };
    }

    private sealed record Creation(
        string Bridge, bool IsGateway, bool IsDefaultGateway, int? Mtu, bool Hairpin, bool Promisc,
        CniDns? Dns, RuntimeConf Runtime, CniResult? PrevResult);

    private static Creation ParseCreation(JsonElement root, string version)
    {
        var f = new JsonFields("");
        var bridge = f.OptString(root, "bridge") ?? DefaultBridge;
        ValidateIfName(bridge, "bridge");

        // 576 is the least every IPv4 host must take (RFC 791; the kernel's own floor is 68); IPv6 needs 1280,
        // checked once the addresses' families are known (RequireMtuForIpv6).
        var mtu = f.OptInt(root, "mtu");
        if (mtu is < MinMtu or > MaxMtu)
        {
            throw f.Invalid("mtu", $"({mtu}) must be between {MinMtu} and {MaxMtu}");
        }

        var hairpin = f.OptBool(root, "hairpinMode") ?? false;
        var promisc = f.OptBool(root, "promiscMode") ?? false;
        if (hairpin && promisc)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                "hairpinMode and promiscMode cannot both be true (promiscMode on the bridge already reflects frames back)");
        }

        // Keys of the reference bridge plugin this plugin does not do: silently ignoring them would leave
        // pods without the NAT or VLAN their operator asked for (code 2, SPEC.md "Unsupported field").
        if (f.OptBool(root, "ipMasq") == true)
        {
            throw new CniException(CniErrorCode.UnsupportedField,
                "ipMasq: masquerading is not supported by patronus-cni; chain a plugin that does it or remove the key");
        }

        if (f.OptInt(root, "vlan") is { } vlan && vlan != 0)
        {
            throw new CniException(CniErrorCode.UnsupportedField, $"vlan ({vlan}): VLAN tagging is not supported by patronus-cni");
        }

        var isDefaultGateway = f.OptBool(root, "isDefaultGateway") ?? false;
        var isGateway = (f.OptBool(root, "isGateway") ?? false) || isDefaultGateway;

        var dns = f.OptObject(root, "dns") is { } dnsElement ? CniJson.ReadDns(dnsElement, "dns") : null;
        for (var i = 0; i < (dns?.Nameservers.Count ?? 0); i++)
        {
            // resolv.conf takes addresses only; a name there is silently useless to the pod.
            CniJson.ParseAddress(dns!.Nameservers[i], $"dns.nameservers[{i}]");
        }

        var runtime = f.OptObject(root, "runtimeConfig") is { } rc ? RuntimeConf.Parse(rc) : RuntimeConf.Empty;
        var prev = f.OptObject(root, "prevResult") is { } pr ? CniJson.ReadResult(pr, "prevResult", version, interfaceIndexesMustResolve: true) : null;
        return new Creation(bridge, isGateway, isDefaultGateway, mtu, hairpin, promisc, dns, runtime, prev);
    }

    /// <summary>IPv6 needs links of at least 1280 bytes (RFC 8200, section 5); the kernel refuses IPv6 on a smaller one.</summary>
    public const int MinIpv6Mtu = 1280;

    /// <summary>Code 7 when <see cref="Mtu"/> is too small for IPv6 and <paramref name="ipv6Source"/> (a range, an address) is IPv6.</summary>
    public void RequireMtuForIpv6(string ipv6Source)
    {
        if (Mtu is < MinIpv6Mtu)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                $"mtu ({Mtu}) is below {MinIpv6Mtu}, the least IPv6 allows, and {ipv6Source} is IPv6");
        }
    }

    private static List<(string, string)>? ParseAttachments(JsonElement root, string key)
    {
        var f = new JsonFields("");
        if (f.OptArray(root, key) is not { } array)
        {
            return null;
        }

        var list = new List<(string, string)>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var p = $"{key}[{i++}]";
            f.RequireObject(item, p);
            list.Add((f.ReqString(item, "containerID", p), f.ReqString(item, "ifname", p)));
        }

        return list;
    }

    private static void ValidateIfName(string name, string field)
    {
        if (InterfaceName.Problem(name, field) is { } problem)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, problem);
        }
    }
}

public sealed record IpamConf(string Type, JsonElement Raw)
{
    public const string BuiltIn = "patronus-ipam";

    public bool IsBuiltIn => Type == BuiltIn;
}

/// <summary>
/// The seed's <c>sdwan</c> section, plus where the node agent listens (<c>agent_socket</c>) and where
/// removals wait while it is away (<c>agent_spool_dir</c>). With the section present, ADD registers the
/// pod's endpoint with the agent and DEL removes it.
/// </summary>
public sealed record SdwanConf(
    string? Database,
    string? ClusterId,
    bool EnablePolicyEnforcement,
    string DefaultQosClass,
    string AgentSocket = SdwanConf.DefaultAgentSocket,
    string AgentSpoolDirectory = SdwanConf.DefaultAgentSpoolDirectory)
{
    public const string DefaultAgentSocket = Patronus.Agent.Client.AgentClient.DefaultSocketPath;
    public const string DefaultAgentSpoolDirectory = Patronus.Agent.Client.Spool.PendingRemovalSpool.DefaultDirectory;

    public static SdwanConf Parse(JsonElement e)
    {
        var f = new JsonFields("sdwan");
        var database = f.OptString(e, "database");
        if (database is not null && !database.StartsWith('/'))
        {
            throw f.Invalid("sdwan.database", $"(\"{database}\") must be an absolute path");
        }

        var cluster = f.OptString(e, "cluster_id");
        if (cluster is not null && !IsDnsLabel(cluster))
        {
            throw f.Invalid("sdwan.cluster_id",
                $"(\"{cluster}\") must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit");
        }

        var qos = f.OptString(e, "default_qos_class") ?? "best-effort";
        if (!IsDnsLabel(qos))
        {
            throw f.Invalid("sdwan.default_qos_class", $"(\"{qos}\") must be a class name such as best-effort or latency-sensitive");
        }

        var socket = f.OptString(e, "agent_socket") ?? DefaultAgentSocket;
        if (!socket.StartsWith('/'))
        {
            throw f.Invalid("sdwan.agent_socket", $"(\"{socket}\") must be an absolute path");
        }

        var spool = f.OptString(e, "agent_spool_dir") ?? DefaultAgentSpoolDirectory;
        if (!spool.StartsWith('/'))
        {
            throw f.Invalid("sdwan.agent_spool_dir", $"(\"{spool}\") must be an absolute path");
        }

        return new SdwanConf(database, cluster, f.OptBool(e, "enable_policy_enforcement") ?? false, qos, socket, spool);
    }

    private static bool IsDnsLabel(string s) =>
        s.Length is >= 1 and <= 63
        && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1])
        && s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
