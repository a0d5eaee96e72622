using System.Globalization;

namespace Patronus.Netlink;

/// <summary>Formats and parses link-layer addresses written as colon-separated hex ("02:42:ac:11:00:02").</summary>
public static class MacAddress
{
    public static string Format(ReadOnlySpan<byte> mac)
    {
        if (mac.IsEmpty)
        {
            return "";
        }

        Span<char> text = stackalloc char[mac.Length * 3 - 1];
        for (var i = 0; i < mac.Length; i++)
        {
            if (i > 0)
            {
                text[i * 3 - 1] = ':';
            }

            mac[i].TryFormat(text[(i * 3)..], out _, "x2", CultureInfo.InvariantCulture);
        }

        return new string(text);
    }

    public static byte[] Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length != 6)
        {
            throw new FormatException($"MAC address \"{text}\" must have 6 colon-separated hex bytes");
        }

        var mac = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out mac[i]))
            {
                throw new FormatException($"MAC address \"{text}\" has an invalid byte \"{parts[i]}\"");
            }
        }

        return mac;
    }
}
