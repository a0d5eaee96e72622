using System.Net;
using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Patronus.Cni.Spec;

/// <summary>
/// Writes and reads the spec's JSON documents. Written with <see cref="Utf8JsonWriter"/> and read from
/// <see cref="JsonDocument"/> rather than serializer contracts: the shape depends on the CNI version, the
/// reader must accept every version's shape, and neither needs reflection under NativeAOT.
/// </summary>
public static class CniJson
{
    // Results hold nothing that needs escaping, and the default (null) encoder then never builds its
    // tables. Errors quote names ("eth0") for people to read, so they escape only what JSON requires;
    // that encoder is built only when an error is printed.
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true };

    private static JsonWriterOptions ErrorWriterOptions => new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] WriteResult(CniResult result)
    {
        var withVersion = CniVersion.ResultHasIpVersion(result.CniVersion);
        return Write(w =>
        {
            w.WriteString("cniVersion", result.CniVersion);
            if (result.Interfaces.Count > 0)
            {
                w.WriteStartArray("interfaces");
                foreach (var i in result.Interfaces)
                {
                    w.WriteStartObject();
                    w.WriteString("name", i.Name);
                    if (i.Mac is not null)
                    {
                        w.WriteString("mac", i.Mac);
                    }

                    if (i.Mtu is { } mtu && !withVersion)
                    {
                        w.WriteNumber("mtu", mtu);
                    }

                    if (i.Sandbox is not null)
                    {
                        w.WriteString("sandbox", i.Sandbox);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartArray("ips");
            foreach (var ip in result.Ips)
            {
                w.WriteStartObject();
                if (withVersion)
                {
                    w.WriteString("version", ip.IsIPv6 ? "6" : "4");
                }

                if (ip.Interface is { } index)
                {
                    w.WriteNumber("interface", index);
                }

                w.WriteString("address", ip.Cidr);
                if (ip.Gateway is not null)
                {
                    w.WriteString("gateway", ip.Gateway.ToString());
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (result.Routes.Count > 0)
            {
                w.WriteStartArray("routes");
                foreach (var r in result.Routes)
                {
                    w.WriteStartObject();
                    w.WriteString("dst", r.Destination.ToString());
                    if (r.Gateway is not null)
                    {
                        w.WriteString("gw", r.Gateway.ToString());
                    }

                    if (r.Priority is { } priority && !withVersion)
                    {
                        w.WriteNumber("priority", priority);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartObject("dns");
            if (result.Dns is { } dns)
            {
                WriteStrings(w, "nameservers", dns.Nameservers);
                if (dns.Domain is not null)
                {
                    w.WriteString("domain", dns.Domain);
                }

                WriteStrings(w, "search", dns.Search);
                WriteStrings(w, "options", dns.Options);
            }

            w.WriteEndObject();
        });
    }

    public static byte[] WriteError(string cniVersion, CniErrorCode code, string message, string? details) => Write(ErrorWriterOptions, w =>
    {
        w.WriteString("cniVersion", cniVersion);
        w.WriteNumber("code", (int)code);
        w.WriteString("msg", message);
        if (!string.IsNullOrEmpty(details))
        {
            w.WriteString("details", details);
        }
    });

    public static byte[] WriteVersionInfo(string cniVersion) => Write(w =>
    {
        w.WriteString("cniVersion", cniVersion);
        WriteStrings(w, "supportedVersions", CniVersion.Supported);
    });

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body) => Write(WriterOptions, body);

    private static byte[] Write(JsonWriterOptions options, Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, options))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>Nesting deeper than any CNI document needs; deeper input is refused rather than walked.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Parses a JSON document from <paramref name="what"/> (for messages: "network configuration on stdin") and
    /// makes sure every string and key in it is text: UTF-8 throughout, and no escaped unpaired surrogate
    /// (<c>"\ud800"</c>), which the reader accepts and only a later read of that string would trip over.
    /// Every failure is code 6 and says where.
    /// </summary>
    public static JsonDocument ParseDocument(byte[] input, string what)
    {
        if (FirstInvalidUtf8(input) is { } offset)
        {
            throw new CniException(CniErrorCode.DecodeFailure, $"{what} is not valid UTF-8 (byte {offset} is not part of a UTF-8 character)");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(input, new JsonDocumentOptions { AllowTrailingCommas = false, MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            // The exception's own message is a resource key in this build; its position is what a person needs.
            throw new CniException(CniErrorCode.DecodeFailure,
                $"{what} is not valid JSON, or nests deeper than {MaxDepth} levels (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }

        try
        {
            RequireText(doc.RootElement, "", what);
        }
        catch
        {
            doc.Dispose();
            throw;
        }

        return doc;
    }

    private static long? FirstInvalidUtf8(ReadOnlySpan<byte> input)
    {
        for (var at = 0; at < input.Length;)
        {
            if (System.Text.Rune.DecodeFromUtf8(input[at..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return at;
            }

            at += consumed;
        }

        return null;
    }

    private static void RequireText(JsonElement e, string path, string what)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in e.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw new CniException(CniErrorCode.DecodeFailure,
                            $"{(path.Length == 0 ? what : path)}: a key holds an escaped unpaired surrogate (\\uD800-\\uDFFF standing alone), which is not text");
                    }

                    RequireText(property.Value, path.Length == 0 ? name : $"{path}.{name}", what);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    RequireText(item, $"{path}[{i++}]", what);
                }

                break;
            case JsonValueKind.String:
                try
                {
                    e.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw new CniException(CniErrorCode.DecodeFailure,
                        $"{(path.Length == 0 ? what : path)} holds an escaped unpaired surrogate (\\uD800-\\uDFFF standing alone), which is not text");
                }

                break;
        }
    }

    /// <summary>
    /// Reads a result of any version from 0.3.0 to 1.1.0 (a <c>prevResult</c>, or what a delegated IPAM
    /// plugin printed). <paramref name="field"/> names where it came from in error messages. With
    /// <paramref name="interfaceIndexesMustResolve"/> (a <c>prevResult</c>), every <c>ips[].interface</c> must be an
    /// index into <c>interfaces</c>, as the spec defines it; an IPAM plugin's result has no interfaces to check against.
    /// </summary>
    public static CniResult ReadResult(JsonElement e, string field, string fallbackVersion, bool interfaceIndexesMustResolve = false)
    {
        var f = new JsonFields(field);
        f.RequireObject(e, field);
        var version = f.OptString(e, "cniVersion") ?? fallbackVersion;
        var interfaces = new List<CniInterface>();
        if (f.OptArray(e, "interfaces") is { } ifs)
        {
            var i = 0;
            foreach (var item in ifs.EnumerateArray())
            {
                var p = $"{field}.interfaces[{i++}]";
                f.RequireObject(item, p);
                interfaces.Add(new CniInterface(
                    f.ReqString(item, "name", p), f.OptString(item, "mac", p), f.OptString(item, "sandbox", p),
                    f.OptInt(item, "mtu", p)));
            }
        }

        var ips = new List<CniIpConfig>();
        if (f.OptArray(e, "ips") is { } ipArray)
        {
            var i = 0;
            foreach (var item in ipArray.EnumerateArray())
            {
                var p = $"{field}.ips[{i++}]";
                f.RequireObject(item, p);
                var (address, prefix) = ParseAddressWithPrefix(f.ReqString(item, "address", p), $"{p}.address");
                var gw = f.OptString(item, "gateway", p) is { } g ? ParseAddress(g, $"{p}.gateway") : null;
                var index = f.OptInt(item, "interface", p);
                if (interfaceIndexesMustResolve && index is { } n && (n < 0 || n >= interfaces.Count))
                {
                    throw new CniException(CniErrorCode.InvalidNetworkConfig,
                        $"{p}.interface ({n}) names no entry of {field}.interfaces, which has {interfaces.Count}");
                }

                ips.Add(new CniIpConfig(address, prefix, gw, index));
            }
        }

        var routes = new List<CniRoute>();
        if (f.OptArray(e, "routes") is { } routeArray)
        {
            var i = 0;
            foreach (var item in routeArray.EnumerateArray())
            {
                var p = $"{field}.routes[{i++}]";
                f.RequireObject(item, p);
                var dst = ParseNetwork(f.ReqString(item, "dst", p), $"{p}.dst");
                var gw = f.OptString(item, "gw", p) is { } g ? ParseAddress(g, $"{p}.gw") : null;
                routes.Add(new CniRoute(dst, gw, f.OptInt(item, "priority", p)));
            }
        }

        var dns = e.TryGetProperty("dns", out var d) && d.ValueKind == JsonValueKind.Object
            ? ReadDns(d, $"{field}.dns")
            : null;
        return new CniResult(version, interfaces, ips, routes, dns);
    }

    public static CniDns ReadDns(JsonElement d, string field)
    {
        var f = new JsonFields(field);
        f.RequireObject(d, field);
        return new CniDns(
            f.OptStrings(d, "nameservers", field) ?? [],
            f.OptString(d, "domain", field),
            f.OptStrings(d, "search", field) ?? [],
            f.OptStrings(d, "options", field) ?? []);
    }

    public static IPAddress ParseAddress(string text, string field) =>
        IPAddress.TryParse(text, out var a) && !text.Contains('/')
            ? a
            : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{field} \"{text}\" is not an IP address");

    /// <summary>"10.1.0.5/24": an interface address with its prefix; host bits are kept.</summary>
    public static (IPAddress Address, int PrefixLength) ParseAddressWithPrefix(string text, string field)
    {
        var slash = text.IndexOf('/');
        if (slash > 0 && IPAddress.TryParse(text.AsSpan(0, slash), out var a)
            && int.TryParse(text.AsSpan(slash + 1), out var len)
            && len >= 0 && len <= (a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))
        {
            return (a, len);
        }

        throw new CniException(CniErrorCode.InvalidNetworkConfig,
            $"{field} \"{text}\" is not an address with a prefix length (like 10.1.0.5/24)");
    }

    /// <summary>"10.1.0.0/16": a network; host bits set are an error, as they usually mean a typo.</summary>
    public static IPNetwork ParseNetwork(string text, string field)
    {
        var (address, len) = ParseAddressWithPrefix(text, field);
        var network = new IPNetwork(Mask(address, len), len);
        if (!network.BaseAddress.Equals(address))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                $"{field} \"{text}\" has host bits set; did you mean {network}?");
        }

        return network;
    }

    public static IPAddress Mask(IPAddress address, int prefixLength)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var bits = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }

        return new IPAddress(bytes);
    }
}
