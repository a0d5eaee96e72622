using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Ipam.Store;

/// <summary>
/// One network's allocations on disk, under <c>dataDir/networkName/</c>:
/// <list type="bullet">
/// <item><c>lock</c>: every operation holds flock on it (exclusive to change, shared to read) for a few
/// syscalls. The kernel drops the lock when a process dies, so kill -9 never leaves the network locked.</item>
/// <item><c>addresses/&lt;ip&gt;</c>: the claim of one address, holding its owner's record "containerId\nifName\n".
/// Created with O_CREAT|O_EXCL: the file's existence is the allocation, so two owners of one address are
/// impossible whatever happens. A claim whose record is not complete was cut short by a crash (writers hold the
/// lock, so no live writer can be mid-write); it allocated nothing and any lock holder may delete it.</item>
/// <item><c>attachments/&lt;key&gt;</c>: the owner index, so an attachment's addresses are found without reading
/// every claim. It is an intent log: the owner record, then one address per line, appended BEFORE the claim is
/// made. An address in the index is only the owner's if its claim says so; but every claim has an index line, so
/// DEL frees everything an interrupted ADD claimed, and a retried ADD picks up what it had already claimed.</item>
/// <item><c>cursor-&lt;set&gt;</c>: the last address allocated from each range set. The search for a free address
/// starts after it (round robin, as host-local does, so a released address is not reused at once), which
/// makes ADD amortised O(1): it probes claims from the cursor until one is missing, a handful of access(2)
/// calls unless the range is nearly full. A torn cursor only costs round robin once.</item>
/// </list>
/// No fsync: an allocation need not survive a power loss, because no container survives one either. What a
/// node crash can leave (claims or index lines lost, or files emptied by delayed allocation) is either a free
/// address or a claim by an attachment that no longer exists; the runtime's GC (<c>cni.dev/valid-attachments</c>)
/// frees the latter, and incomplete files are treated as abandoned claims. This is the fix for host-local's
/// addresses leaked after a node crash.
/// </summary>
internal sealed class AllocationStore(string networkDirectory)
{
    private const string TempPrefix = ".tmp-";

    private readonly string _addresses = Path.Combine(networkDirectory, "addresses");
    private readonly string _attachments = Path.Combine(networkDirectory, "attachments");
    private readonly string _lockPath = Path.Combine(networkDirectory, "lock");

    public string Directory { get; } = networkDirectory;

    /// <summary>
    /// Called with a step name before every change on disk. Tests throw from it to stop an operation between
    /// any two writes, as kill -9 would; nothing in the product catches that exception.
    /// </summary>
    internal Action<string>? BeforeChange { get; set; }

    /// <summary>Takes the network's lock; disposing the descriptor releases it.</summary>
    public FileDescriptor Lock(bool exclusive)
    {
        var fd = Libc.Open(_lockPath, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0b110_000_000);
        if (fd < 0 && Marshal.GetLastPInvokeError() == Libc.ENOENT)
        {
            CreateDirectories();
            fd = Libc.Open(_lockPath, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0b110_000_000);
        }
        if (fd < 0)
            throw IoError("open", _lockPath);
        var handle = new FileDescriptor(fd);
        while (Libc.Flock(handle, exclusive ? Libc.LOCK_EX : Libc.LOCK_SH) != 0)
        {
            if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                continue;
            var error = IoError("lock", _lockPath);
            handle.Dispose();
            throw error;
        }
        return handle;
    }

    /// <summary>How many addresses were probed; tests use it to see that ADD does not walk the range.</summary>
    internal int Probes { get; private set; }

    public bool IsClaimed(IPAddress address)
    {
        Probes++;
        var path = AddressPath(address);
        if (Libc.Access(path, Libc.F_OK) == 0)
            return true;
        if (Marshal.GetLastPInvokeError() == Libc.ENOENT)
            return false;
        throw IoError("check", path);
    }

    /// <summary>The owner recorded in an address claim; <see cref="Claim.Incomplete"/> for a torn record.</summary>
    public Claim ReadClaim(IPAddress address) => ReadClaimFile(AddressPath(address));

    /// <summary>Claims an address for <paramref name="owner"/>; false if it is claimed already.</summary>
    public bool TryClaim(IPAddress address, AttachmentKey owner)
    {
        var path = AddressPath(address);
        BeforeChange?.Invoke("claim-create");
        var fd = Libc.Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0b110_100_100);
        if (fd < 0)
        {
            if (Marshal.GetLastPInvokeError() == Libc.EEXIST)
                return false;
            throw IoError("create", path);
        }
        using var handle = new FileDescriptor(fd);
        BeforeChange?.Invoke("claim-write");
        WriteAll(handle, owner.Record, path);
        return true;
    }

    public void ReleaseClaim(IPAddress address)
    {
        BeforeChange?.Invoke("claim-unlink");
        Unlink(AddressPath(address));
    }

    /// <summary>The owner index of <paramref name="owner"/>: null when it has none (or an unreadable one).</summary>
    public List<IPAddress>? ReadIndex(AttachmentKey owner)
    {
        var text = ReadText(IndexPath(owner));
        if (text is null)
            return null;
        var (key, addresses) = ParseIndex(text);
        return key == owner ? addresses : null;
    }

    /// <summary>Appends intended addresses to an owner index, creating it with its header when new.</summary>
    public void AppendIndex(AttachmentKey owner, bool create, IEnumerable<IPAddress> addresses)
    {
        var path = IndexPath(owner);
        var text = new StringBuilder();
        if (create)
            text.Append(owner.Record);
        foreach (var address in addresses)
            text.Append(address).Append('\n');
        BeforeChange?.Invoke("index-append");
        // O_TRUNC on create: an unreadable index left by a power loss is replaced, not appended to.
        var flags = Libc.O_WRONLY | Libc.O_CREAT | Libc.O_CLOEXEC | (create ? Libc.O_TRUNC : Libc.O_APPEND);
        var fd = Libc.Open(path, flags, 0b110_100_100);
        if (fd < 0)
            throw IoError("write", path);
        using var handle = new FileDescriptor(fd);
        // One write(2) of a few dozen bytes to a local file is not split by a signal: a kill leaves whole lines.
        WriteAll(handle, text.ToString(), path);
    }

    /// <summary>Replaces an owner index atomically (temporary file, then rename), for repairs.</summary>
    public void RewriteIndex(AttachmentKey owner, IEnumerable<IPAddress> addresses)
    {
        var path = IndexPath(owner);
        var temp = Path.Combine(_attachments, TempPrefix + owner.FileName);
        var text = new StringBuilder(owner.Record);
        foreach (var address in addresses)
            text.Append(address).Append('\n');
        BeforeChange?.Invoke("index-rewrite");
        var fd = Libc.Open(temp, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0b110_100_100);
        if (fd < 0)
            throw IoError("write", temp);
        using (var handle = new FileDescriptor(fd))
            WriteAll(handle, text.ToString(), temp);
        BeforeChange?.Invoke("index-rename");
        if (Libc.Rename(temp, path) != 0)
            throw IoError("rename", temp);
    }

    public void DeleteIndex(AttachmentKey owner)
    {
        BeforeChange?.Invoke("index-unlink");
        Unlink(IndexPath(owner));
    }

    public IPAddress? ReadCursor(int rangeSet)
    {
        var text = ReadText(CursorPath(rangeSet));
        return text is not null && text.EndsWith('\n') && AddressText.TryParseAddress(text[..^1], out var address) ? address : null;
    }

    public void WriteCursor(int rangeSet, IPAddress address)
    {
        var path = CursorPath(rangeSet);
        BeforeChange?.Invoke("cursor-write");
        var fd = Libc.Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0b110_100_100);
        if (fd < 0)
            throw IoError("write", path);
        using var handle = new FileDescriptor(fd);
        WriteAll(handle, address + "\n", path);
    }

    /// <summary>Every address claim: for GC and for tests. A file whose name is no address has a null address.</summary>
    public List<(string FileName, IPAddress? Address, Claim Claim)> ReadAllClaims()
    {
        var claims = new List<(string, IPAddress?, Claim)>();
        if (!System.IO.Directory.Exists(_addresses))
            return claims;
        foreach (var path in System.IO.Directory.EnumerateFiles(_addresses))
        {
            var name = Path.GetFileName(path);
            // File names are the canonical text of the address; anything else is not ours to trust.
            var address = AddressText.TryParseAddress(name, out var parsed) && parsed.ToString() == name ? parsed : null;
            claims.Add((name, address, ReadClaimFile(path)));
        }
        return claims;
    }

    /// <summary>Every owner index, with its file name; a null owner marks an unreadable one (or a temporary file).</summary>
    public List<(string FileName, AttachmentKey? Owner, List<IPAddress> Addresses)> ReadAllIndexes()
    {
        var indexes = new List<(string, AttachmentKey?, List<IPAddress>)>();
        if (!System.IO.Directory.Exists(_attachments))
            return indexes;
        foreach (var path in System.IO.Directory.EnumerateFiles(_attachments))
        {
            var name = Path.GetFileName(path);
            var text = name.StartsWith(TempPrefix, StringComparison.Ordinal) ? null : ReadText(path);
            var (owner, addresses) = text is null ? (null, []) : ParseIndex(text);
            // An index must sit under its own owner's name; one that does not was not written by us.
            indexes.Add(owner is { } key && key.FileName == name ? (name, key, addresses) : (name, null, []));
        }
        return indexes;
    }

    public void DeleteAddressFile(string fileName)
    {
        BeforeChange?.Invoke("claim-unlink");
        Unlink(Path.Combine(_addresses, fileName));
    }

    public void DeleteIndexFile(string fileName)
    {
        BeforeChange?.Invoke("index-unlink");
        Unlink(Path.Combine(_attachments, fileName));
    }

    private void CreateDirectories()
    {
        try
        {
            System.IO.Directory.CreateDirectory(_addresses);
            System.IO.Directory.CreateDirectory(_attachments);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IoFailure, $"ipam: cannot create data folder {Directory}: {e.Message}", null, e);
        }
    }

    private string AddressPath(IPAddress address) => Path.Combine(_addresses, address.ToString());

    private string IndexPath(AttachmentKey owner) => Path.Combine(_attachments, owner.FileName);

    private string CursorPath(int rangeSet) => Path.Combine(Directory, $"cursor-{rangeSet}");

    private Claim ReadClaimFile(string path)
    {
        var text = ReadText(path);
        if (text is null)
            return Claim.None;
        var owner = AttachmentKey.ParseRecord(text, out var consumed);
        return owner is { } key && consumed == text.Length ? new Claim(ClaimState.Owned, key) : Claim.Incomplete;
    }

    private static (AttachmentKey? Owner, List<IPAddress> Addresses) ParseIndex(string text)
    {
        var owner = AttachmentKey.ParseRecord(text, out var consumed);
        var addresses = new List<IPAddress>();
        if (owner is null)
            return (null, addresses);
        var rest = text.AsSpan(consumed);
        // Only whole lines count; a torn last line (power loss) is ignored. A torn line that still parses names
        // an address this owner intended; it is the owner's only if the claim says so.
        for (var end = rest.IndexOf('\n'); end >= 0; end = rest.IndexOf('\n'))
        {
            if (AddressText.TryParseAddress(rest[..end].ToString(), out var address) && !addresses.Contains(address))
                addresses.Add(address);
            rest = rest[(end + 1)..];
        }
        return (owner, addresses);
    }

    /// <summary>The whole file as text, or null if it does not exist.</summary>
    private static unsafe string? ReadText(string path)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            if (Marshal.GetLastPInvokeError() == Libc.ENOENT)
                return null;
            throw IoError("read", path);
        }
        using var handle = new FileDescriptor(fd);
        var buffer = new byte[512];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
            nint read;
            fixed (byte* p = &buffer[length])
                read = Libc.Read(handle, p, (nuint)(buffer.Length - length));
            if (read < 0)
            {
                if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                    continue;
                throw IoError("read", path);
            }
            if (read == 0)
                break;
            length += (int)read;
        }
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static unsafe void WriteAll(FileDescriptor handle, string text, string path)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var written = 0;
        while (written < bytes.Length)
        {
            nint result;
            fixed (byte* p = &bytes[written])
                result = Libc.Write(handle, p, (nuint)(bytes.Length - written));
            if (result < 0)
            {
                if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                    continue;
                throw IoError("write", path);
            }
            written += (int)result;
        }
    }

    private static void Unlink(string path)
    {
        if (Libc.Unlink(path) != 0 && Marshal.GetLastPInvokeError() != Libc.ENOENT)
            throw IoError("delete", path);
    }

    private static CniException IoError(string action, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new CniException(CniErrorCode.IoFailure, $"ipam: cannot {action} {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }
}

internal enum ClaimState
{
    /// <summary>No claim: the address is free.</summary>
    None,

    /// <summary>A claim cut short by a crash: it allocated nothing and may be deleted under the lock.</summary>
    Incomplete,

    Owned,
}

internal readonly record struct Claim(ClaimState State, AttachmentKey? Owner)
{
    public static readonly Claim None = new(ClaimState.None, null);

    public static readonly Claim Incomplete = new(ClaimState.Incomplete, null);

    public bool IsOwnedBy(AttachmentKey key) => State == ClaimState.Owned && Owner == key;
}
