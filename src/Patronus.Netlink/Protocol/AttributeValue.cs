using System.Net;
using System.Text;

namespace Patronus.Netlink.Protocol;

/// <summary>Decoders for attribute payloads.</summary>
internal static class AttributeValue
{
    public static string ReadString(ReadOnlySpan<byte> value)
    {
        var end = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? value : value[..end]);
    }

    public static IPAddress ReadAddress(ReadOnlySpan<byte> value) => new(value);

    public static bool IsString(ReadOnlySpan<byte> value, string expected)
    {
        var end = value.IndexOf((byte)0);
        var text = end < 0 ? value : value[..end];
        if (text.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }
}
