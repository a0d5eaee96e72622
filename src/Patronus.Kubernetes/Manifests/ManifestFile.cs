using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Patronus.Kubernetes.Manifests.Interop;

namespace Patronus.Kubernetes.Manifests;

/// <summary>What a path in a manifests folder is, as far as reading it goes: its type, size and modification time.</summary>
public readonly record struct ManifestFileInfo(bool IsRegularFile, string Type, long Length, DateTime LastWrite);

/// <summary>
/// Reads manifest files without trusting what the path names: the type is checked before opening (a FIFO
/// named x.yaml would block the reader forever, a device could be endless), the open itself does not block,
/// and no more than the size limit is ever read.
/// </summary>
public static class ManifestFile
{
    /// <summary>The path's type, size and modification time (symbolic links followed, as a ConfigMap mount needs).</summary>
    public static ManifestFileInfo Inspect(string path)
    {
        if (Libc.Statx(Libc.AtFdCwd, path, 0, Libc.StatxType | Libc.StatxSize | Libc.StatxMtime, out var stat) != 0)
            throw Error(path, Marshal.GetLastPInvokeError());
        return Describe(stat);
    }

    /// <summary>Reads a regular file as UTF-8 text; throws <see cref="ManifestFileException"/> saying why it cannot.</summary>
    public static string ReadText(string path, long maxBytes)
    {
        var before = Inspect(path);
        if (!before.IsRegularFile)
            throw new ManifestFileException($"{before.Type} is not a regular file; skipped");
        if (before.Length > maxBytes)
            throw new ManifestFileException($"is larger than {maxBytes} bytes ({before.Length}); refused");

        var fd = Libc.Open(path, Libc.ORdOnly | Libc.ONonBlock | Libc.ONoCtty | Libc.OCloExec);
        if (fd < 0)
            throw Error(path, Marshal.GetLastPInvokeError());
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        // The path may have been swapped for something else between the check and the open.
        if (Libc.Statx(handle, "", Libc.AtEmptyPath, Libc.StatxType, out var opened) != 0)
            throw Error(path, Marshal.GetLastPInvokeError());
        if (!Describe(opened).IsRegularFile)
            throw new ManifestFileException($"{Describe(opened).Type} is not a regular file; skipped");

        // Read one byte past the limit to notice a file that grew after the check.
        var buffer = new byte[Math.Min(maxBytes + 1, Math.Max(before.Length + 1, 4096))];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length > maxBytes)
                    throw new ManifestFileException($"is larger than {maxBytes} bytes; refused");
                Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1, (long)buffer.Length * 2));
            }
            var read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
            if (read == 0)
                break;
            length += read;
        }
        if (length > maxBytes)
            throw new ManifestFileException($"is larger than {maxBytes} bytes; refused");
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(buffer, 0, length).TrimStart('\uFEFF');
        }
        catch (DecoderFallbackException)
        {
            throw new ManifestFileException("is not valid UTF-8 text");
        }
    }

    private static ManifestFileInfo Describe(StatxBuffer stat)
    {
        var type = (stat.Mode & Libc.SIfMt) switch
        {
            Libc.SIfReg => "a regular file",
            Libc.SIfDir => "a directory",
            Libc.SIfIfo => "a FIFO",
            Libc.SIfSock => "a socket",
            Libc.SIfChr => "a character device",
            Libc.SIfBlk => "a block device",
            _ => "a special file",
        };
        var lastWrite = DateTime.UnixEpoch.AddSeconds(stat.MtimeSeconds).AddTicks(stat.MtimeNanoseconds / 100);
        return new ManifestFileInfo((stat.Mode & Libc.SIfMt) == Libc.SIfReg, type, (long)stat.Size, lastWrite);
    }

    private static IOException Error(string path, int errno) => errno switch
    {
        2 => new FileNotFoundException($"'{path}' does not exist", path),
        _ => new IOException($"'{path}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"),
    };
}

/// <summary>A manifest file that is refused before parsing (its type, its size, its encoding); the message says why.</summary>
public sealed class ManifestFileException(string message) : IOException(message);
