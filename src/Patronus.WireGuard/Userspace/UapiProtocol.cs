using System.Globalization;
using System.Net;
using System.Text;
using Patronus.Netlink;

namespace Patronus.WireGuard.Userspace;

/// <summary>
/// The cross-platform userspace configuration protocol (wireguard.com/xplatform, "Configuration Protocol"):
/// newline-separated key=value lines, a request ends with an empty line; "get=1" answers with the device's
/// lines then "errno=N", "set=1" answers "errno=N" alone. Keys are lowercase hex. Pure text in, text out.
/// </summary>
internal static class UapiProtocol
{
    public const string GetRequest = "get=1\n\n";

    /// <summary>The "set=1" request for <paramref name="config"/>, in the order the protocol lists the keys.</summary>
    public static string SetRequest(DeviceConfig config)
    {
        var text = new StringBuilder("set=1\n");
        if (config.PrivateKey is { } privateKey)
        {
            Line(text, "private_key", privateKey.ToHex());
        }

        if (config.ListenPort is { } port)
        {
            Line(text, "listen_port", port.ToString(CultureInfo.InvariantCulture));
        }

        if (config.FirewallMark is { } mark)
        {
            Line(text, "fwmark", mark.ToString(CultureInfo.InvariantCulture));
        }

        if (config.ReplacePeers)
        {
            Line(text, "replace_peers", "true");
        }

        foreach (var peer in config.Peers)
        {
            Line(text, "public_key", peer.PublicKey.ToHex());
            if (peer.Remove)
            {
                Line(text, "remove", "true");
                continue;
            }

            if (peer.UpdateOnly)
            {
                Line(text, "update_only", "true");
            }

            if (peer.PresharedKey is { } psk)
            {
                Line(text, "preshared_key", psk.ToHex());
            }

            if (peer.Endpoint is { } endpoint)
            {
                // IPEndPoint prints "[v6]:port" for IPv6, as the protocol wants.
                Line(text, "endpoint", endpoint.ToString());
            }

            if (peer.KeepaliveSeconds is { } keepalive)
            {
                Line(text, "persistent_keepalive_interval", keepalive.ToString(CultureInfo.InvariantCulture));
            }

            if (peer.ReplaceAllowedIPs)
            {
                Line(text, "replace_allowed_ips", "true");
            }

            foreach (var allowed in peer.AllowedIPs)
            {
                Line(text, "allowed_ip", allowed.ToString());
            }
        }

        return text.Append('\n').ToString();
    }

    /// <summary>Reads a "get=1" answer into a device; a non-zero errno or a malformed line is an error.</summary>
    public static Device ParseGet(string name, string response)
    {
        Key? privateKey = null;
        var listenPort = 0;
        var firewallMark = 0;
        var peers = new List<Peer>();
        PeerBuilder? peer = null;
        int? errno = null;

        foreach (var (key, value) in Lines(name, response))
        {
            if (key == "errno")
            {
                errno = ParseInt(name, key, value);
                break;
            }

            if (key == "public_key")
            {
                if (peer is not null)
                {
                    peers.Add(peer.Build());
                }

                peer = new PeerBuilder(ParseKey(name, key, value, KeyKind.Public));
                continue;
            }

            if (peer is null)
            {
                switch (key)
                {
                    case "private_key":
                        privateKey = ParseKey(name, key, value, KeyKind.Private);
                        break;
                    case "listen_port":
                        listenPort = ParseInt(name, key, value);
                        break;
                    case "fwmark":
                        firewallMark = ParseInt(name, key, value);
                        break;
                }

                // Other device keys (implementation extensions) are not ours to interpret.
                continue;
            }

            switch (key)
            {
                case "preshared_key":
                    var psk = ParseKey(name, key, value, KeyKind.Preshared);
                    peer.PresharedKey = psk.IsZero ? null : psk;
                    break;
                case "endpoint":
                    peer.Endpoint = IPEndPoint.TryParse(value, out var endpoint) ? endpoint : throw Malformed(name, key, value);
                    break;
                case "persistent_keepalive_interval":
                    peer.Keepalive = TimeSpan.FromSeconds(ParseInt(name, key, value));
                    break;
                case "last_handshake_time_sec":
                    peer.HandshakeSeconds = ParseLong(name, key, value);
                    break;
                case "last_handshake_time_nsec":
                    peer.HandshakeNanoseconds = ParseLong(name, key, value);
                    break;
                case "rx_bytes":
                    peer.ReceiveBytes = ParseLong(name, key, value);
                    break;
                case "tx_bytes":
                    peer.TransmitBytes = ParseLong(name, key, value);
                    break;
                case "protocol_version":
                    peer.ProtocolVersion = ParseInt(name, key, value);
                    break;
                case "allowed_ip":
                    peer.AllowedIPs.Add(ParseNetwork(name, key, value));
                    break;
            }
        }

        CheckErrno(name, "read", errno);
        if (peer is not null)
        {
            peers.Add(peer.Build());
        }

        return new Device
        {
            Name = name,
            Type = DeviceType.Userspace,
            PrivateKey = privateKey,
            PublicKey = privateKey?.PublicKey(),
            ListenPort = listenPort,
            FirewallMark = firewallMark,
            Peers = peers,
        };
    }

    /// <summary>Checks a "set=1" answer: "errno=0" and nothing else.</summary>
    public static void CheckSetResponse(string name, string response)
    {
        int? errno = null;
        foreach (var (key, value) in Lines(name, response))
        {
            if (key == "errno")
            {
                errno = ParseInt(name, key, value);
                break;
            }
        }

        CheckErrno(name, "configure", errno);
    }

    /// <summary>True once <paramref name="response"/> holds a whole answer: the errno line and the empty line after it.</summary>
    public static bool IsComplete(ReadOnlySpan<char> response)
        => response.EndsWith("\n\n") && (response.StartsWith("errno=") || response.Contains("\nerrno=", StringComparison.Ordinal));

    private static void CheckErrno(string name, string operation, int? errno)
    {
        if (errno is null)
        {
            throw new WireGuardException(name, $"{operation}: the userspace implementation's answer ended without an errno line");
        }

        if (errno != 0)
        {
            // wireguard-go reports -EINVAL and friends; wg(8) and the protocol text speak of a positive errno.
            var positive = Math.Abs(errno.Value);
            throw new WireGuardException(name, $"{operation}: the userspace implementation refused it ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(positive)}, errno {positive})", positive);
        }
    }

    private static IEnumerable<(string Key, string Value)> Lines(string name, string response)
    {
        foreach (var line in response.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            var equals = line.IndexOf('=');
            if (equals <= 0)
            {
                // The line may hold a key: say where it was, not what it said.
                throw new WireGuardException(name, "the userspace implementation sent a line without key=value");
            }

            yield return (line[..equals], line[(equals + 1)..]);
        }
    }

    private static Key ParseKey(string name, string key, string value, KeyKind kind)
    {
        try
        {
            return Key.FromHex(kind, value);
        }
        catch (FormatException e)
        {
            throw new WireGuardException(name, $"the userspace implementation sent a malformed {key}: {e.Message}");
        }
    }

    private static int ParseInt(string name, string key, string value)
        => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number : throw Malformed(name, key, value);

    private static long ParseLong(string name, string key, string value)
        => long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : throw Malformed(name, key, value);

    /// <summary>An allowed IP as "address/length"; host bits are cleared, as the implementation's table holds them.</summary>
    internal static IPNetwork ParseNetwork(string name, string key, string value)
    {
        try
        {
            var prefix = IpPrefix.Parse(value).Network();
            return new IPNetwork(prefix.Address, prefix.PrefixLength);
        }
        catch (FormatException)
        {
            throw Malformed(name, key, value);
        }
        catch (ArgumentException)
        {
            throw Malformed(name, key, value);
        }
    }

    // Only for keys that carry no secret: the value helps whoever reads the error.
    private static WireGuardException Malformed(string name, string key, string value)
        => new(name, $"the userspace implementation sent a malformed {key} \"{value}\"");

    private static void Line(StringBuilder text, string key, string value) => text.Append(key).Append('=').Append(value).Append('\n');

    private sealed class PeerBuilder(Key publicKey)
    {
        public Key? PresharedKey { get; set; }

        public IPEndPoint? Endpoint { get; set; }

        public TimeSpan Keepalive { get; set; }

        public long HandshakeSeconds { get; set; }

        public long HandshakeNanoseconds { get; set; }

        public long ReceiveBytes { get; set; }

        public long TransmitBytes { get; set; }

        public int ProtocolVersion { get; set; }

        public List<IPNetwork> AllowedIPs { get; } = [];

        public Peer Build() => new()
        {
            PublicKey = publicKey,
            PresharedKey = PresharedKey,
            Endpoint = Endpoint,
            PersistentKeepaliveInterval = Keepalive,
            LastHandshakeTime = HandshakeTime.FromUnix(HandshakeSeconds, HandshakeNanoseconds),
            ReceiveBytes = ReceiveBytes,
            TransmitBytes = TransmitBytes,
            AllowedIPs = AllowedIPs,
            ProtocolVersion = ProtocolVersion,
        };
    }
}

/// <summary>Both protocols carry the last handshake as seconds and nanoseconds since the epoch; 0 means never.</summary>
internal static class HandshakeTime
{
    public static DateTimeOffset? FromUnix(long seconds, long nanoseconds)
        => seconds == 0 && nanoseconds == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds / 100);
}
