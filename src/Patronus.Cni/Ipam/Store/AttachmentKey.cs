using System.Security.Cryptography;
using System.Text;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Ipam.Store;

/// <summary>
/// An attachment, the unit the CNI spec allocates for: (container id, interface name). Its <see cref="Record"/>
/// is what address claims and owner index files hold; <see cref="FileName"/> names its owner index file.
/// </summary>
internal readonly record struct AttachmentKey
{
    public AttachmentKey(string containerId, string ifName)
    {
        // The record is line-based, so a newline or NUL in either part could forge another owner. The spec
        // already forbids them (container ids are alphanumerics plus '_', '.', '-'; interface names no
        // whitespace); the runtime is not trusted to have checked.
        if (string.IsNullOrEmpty(containerId) || containerId.Any(char.IsControl))
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_CONTAINERID: \"{containerId}\" is empty or holds control characters");
        if (string.IsNullOrEmpty(ifName) || ifName.Any(char.IsControl))
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_IFNAME: \"{ifName}\" is empty or holds control characters");
        // Records are read back with one readlink(2) into a fixed buffer.
        if (containerId.Length + ifName.Length > 800)
            throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_CONTAINERID: longer than 800 characters");
        ContainerId = containerId;
        IfName = ifName;
    }

    public string ContainerId { get; }

    public string IfName { get; }

    public string Record => $"{ContainerId}\n{IfName}\n";

    /// <summary>
    /// Both parts with every byte outside [A-Za-z0-9_.-] written as %XX and joined by ':', which therefore
    /// cannot occur inside a part: distinct attachments get distinct names, and no name is "." or "..". A name
    /// past the file system's 255 bytes becomes a SHA-256 of the record; the index file's header still holds
    /// the record, and readers compare it.
    /// </summary>
    public string FileName
    {
        get
        {
            var builder = new StringBuilder(ContainerId.Length + IfName.Length + 8);
            Escape(builder, ContainerId);
            builder.Append(':');
            Escape(builder, IfName);
            if (builder.Length <= 200)
                return builder.ToString();
            return "sha256-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Record)));
        }
    }

    /// <summary>Reads a record "containerId\nifName\n" at the start of <paramref name="text"/>; null if there is none.</summary>
    public static AttachmentKey? ParseRecord(ReadOnlySpan<char> text, out int consumed)
    {
        consumed = 0;
        var first = text.IndexOf('\n');
        if (first <= 0)
            return null;
        var rest = text[(first + 1)..];
        var second = rest.IndexOf('\n');
        if (second <= 0)
            return null;
        var containerId = text[..first];
        var ifName = rest[..second];
        if (containerId.ContainsAnyInRange('\0', '\x1f') || ifName.ContainsAnyInRange('\0', '\x1f')
            || containerId.Length + ifName.Length > 800)
            return null;
        consumed = first + 1 + second + 1;
        return new AttachmentKey(containerId.ToString(), ifName.ToString());
    }

    private static void Escape(StringBuilder builder, string part)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < part.Length; i++)
        {
            var c = part[i];
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')
            {
                builder.Append(c);
                continue;
            }
            var length = char.IsHighSurrogate(c) && i + 1 < part.Length
                ? Encoding.UTF8.GetBytes(part.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(part.AsSpan(i, 1), utf8);
            foreach (var b in utf8[..length])
                builder.Append('%').Append(b.ToString("X2"));
        }
    }
}
