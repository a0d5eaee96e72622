using Patronus.Netlink.Protocol;

namespace Patronus.Netlink.Tests.Protocol;

internal delegate void Encoder(ref NetlinkMessageWriter writer);

internal static class Bytes
{
    /// <summary>Hex with any whitespace and "|" separators, so vectors can be laid out field by field.</summary>
    public static byte[] Hex(string text)
        => Convert.FromHexString(string.Concat(text.Where(c => !char.IsWhiteSpace(c) && c != '|')));

    public static string Encode(Encoder encode)
    {
        var buffer = new byte[4096];
        var writer = new NetlinkMessageWriter(buffer);
        encode(ref writer);
        return Convert.ToHexString(writer.EndMessage()).ToLowerInvariant();
    }

    public static string Normalize(string hex) => Convert.ToHexString(Hex(hex)).ToLowerInvariant();
}
