using System.Runtime.Versioning;
using System.Text;

namespace Patronus.WireGuard;

/// <summary>
/// Private and preshared keys on disk: base64 on one line, as `wg genkey` writes them, in a file only its owner
/// can read or write (0600). Written to a temporary file created 0600 and renamed over the target, so the key
/// is never readable by others, not even for a moment, and a crash leaves the old key or the new one.
/// </summary>
[UnsupportedOSPlatform("windows")] // Unix file modes are the protection
public static class KeyFile
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Write(string path, Key key)
    {
        ArgumentNullException.ThrowIfNull(key);
        WriteSecret(path, key.Bytes);
    }

    /// <summary>Any secret (an Ed25519 seed too), base64 on one line, with the same care as a WireGuard key.</summary>
    public static void WriteSecret(string path, ReadOnlySpan<byte> secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var text = Convert.ToBase64String(secret) + "\n";
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnly,
            }))
            {
                stream.Write(Encoding.ASCII.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Reads a key of <paramref name="kind"/>; refuses a file that group or others may read or write (as ssh
    /// refuses such a private key), naming the file and its mode, never its content.
    /// </summary>
    public static Key Read(string path, KeyKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (kind != KeyKind.Public)
            CheckOwnerOnly(path, kind.ToString().ToLowerInvariant());

        try
        {
            return Key.Parse(kind, File.ReadAllText(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"key file {path}: {e.Message}", e);
        }
    }

    /// <summary>A secret written by <see cref="WriteSecret"/>: exactly <paramref name="length"/> bytes, from a 0600 file.</summary>
    public static byte[] ReadSecret(string path, int length, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckOwnerOnly(path, what);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
        catch (FormatException)
        {
            throw new FormatException($"key file {path}: not base64 ({what} expected)");
        }
        if (bytes.Length != length)
            throw new FormatException($"key file {path}: {bytes.Length} bytes, a {what} is {length}");
        return bytes;
    }

    private static void CheckOwnerOnly(string path, string what)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
        {
            throw new UnauthorizedAccessException(
                $"key file {path} has mode {Convert.ToString((int)mode, 8)}: a {what} key must be readable by its owner only (chmod 600)");
        }
    }
}
