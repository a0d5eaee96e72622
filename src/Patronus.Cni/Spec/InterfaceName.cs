using System.Text;

namespace Patronus.Cni.Spec;

/// <summary>
/// Linux's rule for interface names (net/core/dev.c, <c>dev_valid_name</c>), checked before anything is made so
/// a name the kernel would refuse, or rewrite, is a config or environment error rather than a failure halfway:
/// 1 to 15 bytes (IFNAMSIZ 16 with the NUL), not "." or "..", no '/', ':' or byte the kernel's <c>isspace</c>
/// accepts. Beyond the kernel's rule: no '%' (a name holding "%d" is a template the kernel fills in, so the
/// interface would get another name than the one asked for), no control characters (the kernel takes them,
/// but no tool shows them faithfully), and no Unicode whitespace (libcni refuses it too).
/// </summary>
public static class InterfaceName
{
    public const int MaxBytes = 15;

    /// <summary>Null when <paramref name="name"/> is a valid interface name, else why not, as a sentence starting with the field.</summary>
    public static string? Problem(string name, string field)
    {
        if (name.Length == 0)
        {
            return $"{field} is empty; an interface name needs 1 to {MaxBytes} bytes";
        }

        var bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes > MaxBytes)
        {
            return bytes == name.Length
                ? $"{field} \"{name}\" is {name.Length} characters long; Linux allows at most {MaxBytes}"
                : $"{field} \"{name}\" is {name.Length} characters but {bytes} bytes long in UTF-8; Linux allows at most {MaxBytes} bytes";
        }

        var invalid = $"{field} \"{name}\" is not a valid interface name";
        Span<byte> encoded = stackalloc byte[4];
        if (name is "." or "..")
        {
            return $"{invalid}: \".\" and \"..\" are reserved";
        }

        foreach (var rune in name.EnumerateRunes())
        {
            if (rune == Rune.ReplacementChar)
            {
                return $"{invalid}: it is not valid UTF-8";
            }

            if (Rune.IsControl(rune))
            {
                return $"{invalid}: it holds the control character U+{rune.Value:X4}";
            }

            if (Rune.IsWhiteSpace(rune))
            {
                return $"{invalid}: it holds whitespace (U+{rune.Value:X4})";
            }

            if (rune.Value is '/' or ':' or '%')
            {
                return $"{invalid}: it holds '{(char)rune.Value}'"
                    + (rune.Value == '%' ? " (the kernel would take the name as a template and pick another)" : "");
            }

            // The kernel tests each byte with its Latin-1 isspace, which counts 0xA0 (no-break space) as space;
            // in UTF-8 that byte is a continuation byte of many letters (U+00E0 'à' is C3 A0).
            if (encoded[..rune.EncodeToUtf8(encoded)].Contains((byte)0xA0))
            {
                return $"{invalid}: the UTF-8 encoding of '{rune}' holds the byte 0xA0, which Linux counts as whitespace";
            }
        }

        return null;
    }
}
