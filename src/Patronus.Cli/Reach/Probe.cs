using Patronus.Policy.Compiled;

namespace Patronus.Cli.Reach;

/// <summary>One port and protocol to test traffic on.</summary>
internal readonly record struct Probe(int Port, Protocol Protocol)
{
    public string ProtocolName => Protocol.ToString().ToUpperInvariant();

    public override string ToString() => $"{Port}/{ProtocolName}";

    /// <summary>Parses <c>PORT[/PROTO]</c>; PROTO is TCP (default), UDP or SCTP, in any case.</summary>
    public static bool TryParse(string text, out Probe probe, out string error)
    {
        probe = default;
        var parts = text.Split('/');
        if (parts.Length > 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, null, out var port) || port is < 1 or > 65535)
        {
            error = $"--port: \"{text}\" is not PORT[/PROTO] with PORT between 1 and 65535";
            return false;
        }
        Protocol protocol;
        switch (parts.Length == 1 ? "TCP" : parts[1].ToUpperInvariant())
        {
            case "TCP": protocol = Protocol.Tcp; break;
            case "UDP": protocol = Protocol.Udp; break;
            case "SCTP": protocol = Protocol.Sctp; break;
            default:
                error = $"--port: unknown protocol \"{parts[1]}\" in \"{text}\" (expected TCP, UDP or SCTP)";
                return false;
        }
        probe = new Probe(port, protocol);
        error = "";
        return true;
    }
}
