using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Patronus.Cni.Spec;
using Patronus.Netlink.Interop;

namespace Patronus.Cni.Ipam.Store;

/// <summary>
/// One network's allocations on disk, under <c>dataDir/networkName/</c>. Every allocation is one record,
/// "address\ncontainerId\nifName\n", held as the target of a symbolic link: symlink(2) writes name and content in
/// one atomic step, so no reader ever sees a torn record, and it costs one syscall where a file costs three.
/// <list type="bullet">
/// <item><c>lock</c>: every operation holds flock on it (exclusive to change, shared to read) for a few syscalls.
/// The kernel drops the lock when a process dies, so kill -9 never leaves the network locked. The file's bytes
/// hold each range set's cursor (below), read and written through the descriptor already open.</item>
/// <item><c>attachments/&lt;key&gt;#&lt;set&gt;</c>: the intent, the owner index. ADD creates it first, naming the address
/// it is about to claim for that range set; DEL and a retried ADD find an attachment's addresses through it
/// without reading any other file.</item>
/// <item><c>addresses/&lt;ip&gt;</c>: the claim, a hard link to the intent's inode made with link(2), which fails
/// with EEXIST if the address is taken. This is the atomic commit point: the name's existence is the allocation,
/// so two owners of one address are impossible whatever happens. An intent whose claim does not exist (or is
/// another's) is only a plan: a kill between the two steps leaves an intent that DEL, a retried ADD or GC removes.</item>
/// </list>
/// The cursor is the last address allocated from a set; the search for a free address starts after it (round
/// robin, as host-local does, so a released address is not reused at once). That makes ADD amortised O(1): it
/// probes claims from the cursor until one is missing, one readlink(2) each, a handful unless the range is nearly
/// full. A torn cursor only costs round robin once.
/// <para>No fsync: an allocation need not survive a power loss, because no container survives one either. What a
/// node crash can leave (claims or intents lost or left behind) is either a free address or a claim by an
/// attachment that no longer exists, which the runtime's GC (<c>cni.dev/valid-attachments</c>) frees: the fix
/// for host-local's addresses leaked by a node crash.</para>
/// </summary>
internal sealed class AllocationStore(string networkDirectory)
{
    private const string TempPrefix = ".tmp-";
    private const int CursorSlot = 64;

    private readonly string _addresses = Path.Combine(networkDirectory, "addresses");
    private readonly string _attachments = Path.Combine(networkDirectory, "attachments");
    private readonly string _lockPath = Path.Combine(networkDirectory, "lock");

    public string Directory { get; } = networkDirectory;

    /// <summary>
    /// Called with a step name before every change on disk. Tests throw from it to stop an operation between
    /// any two writes, as kill -9 would; nothing in the product catches that exception.
    /// </summary>
    internal Action<string>? BeforeChange { get; set; }

    /// <summary>How many addresses were probed; tests use it to see that ADD does not walk the range.</summary>
    internal int Probes { get; private set; }

    /// <summary>Takes the network's lock; disposing the descriptor releases it.</summary>
    public FileDescriptorHandle Lock(bool exclusive)
    {
        var fd = Libc.Open(_lockPath, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, Libc.OwnerReadWrite);
        if (fd < 0 && Marshal.GetLastPInvokeError() == Errno.ENOENT)
        {
            CreateDirectories();
            fd = Libc.Open(_lockPath, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, Libc.OwnerReadWrite);
        }
        if (fd < 0)
            throw IoError("open", _lockPath);
        var handle = new FileDescriptorHandle(fd);
        while (Libc.Flock(handle, exclusive ? Libc.LOCK_EX : Libc.LOCK_SH) != 0)
        {
            if (Marshal.GetLastPInvokeError() == Errno.EINTR)
                continue;
            var error = IoError("lock", _lockPath);
            handle.Dispose();
            throw error;
        }
        return handle;
    }

    public bool IsClaimed(IPAddress address)
    {
        Probes++;
        return ReadClaim(address).State != ClaimState.None;
    }

    /// <summary>Who holds an address: nobody, an owner, or a file that is not a claim we wrote.</summary>
    public Claim ReadClaim(IPAddress address)
    {
        var record = ReadRecordAt(AddressPath(address), out var exists);
        return !exists ? Claim.None
            : record is not null && record.Address.Equals(address) ? new Claim(ClaimState.Owned, record.Owner)
            : Claim.Foreign;
    }

    /// <summary>The intent of an attachment for a range set: the address it claimed or was about to claim.</summary>
    public ClaimRecord? ReadIntent(AttachmentKey owner, int set) =>
        ReadRecordAt(IntentPath(owner, set), out _) is { } record && record.Owner == owner ? record : null;

    /// <summary>Records the intent to claim <paramref name="address"/>, replacing an earlier one atomically.</summary>
    public void WriteIntent(AttachmentKey owner, int set, IPAddress address, bool replace)
    {
        var target = new ClaimRecord(address, owner).Format();
        var path = IntentPath(owner, set);
        if (!replace)
        {
            BeforeChange?.Invoke("intent-symlink");
            if (Libc.Symlink(target, path) == 0)
                return;
            if (Marshal.GetLastPInvokeError() == Errno.ENOENT)
            {
                // The lock file exists but a folder under it was removed: recreate and go on.
                CreateDirectories();
                if (Libc.Symlink(target, path) == 0)
                    return;
            }
            if (Marshal.GetLastPInvokeError() != Errno.EEXIST)
                throw IoError("create", path);
        }
        var temp = Path.Combine(_attachments, TempPrefix + Path.GetFileName(path));
        Unlink(temp);
        BeforeChange?.Invoke("intent-symlink-temp");
        if (Libc.Symlink(target, temp) != 0)
            throw IoError("create", temp);
        BeforeChange?.Invoke("intent-rename");
        if (Libc.Rename(temp, path) != 0)
            throw IoError("rename", temp);
    }

    /// <summary>Claims the address of an attachment's intent for a set; false if another holds it already.</summary>
    public bool TryClaim(AttachmentKey owner, int set, IPAddress address)
    {
        var path = AddressPath(address);
        BeforeChange?.Invoke("claim-link");
        if (Libc.LinkAt(Libc.AT_FDCWD, IntentPath(owner, set), Libc.AT_FDCWD, path, 0) == 0)
            return true;
        if (Marshal.GetLastPInvokeError() == Errno.ENOENT && !System.IO.Directory.Exists(_addresses))
        {
            CreateDirectories();
            if (Libc.LinkAt(Libc.AT_FDCWD, IntentPath(owner, set), Libc.AT_FDCWD, path, 0) == 0)
                return true;
        }
        if (Marshal.GetLastPInvokeError() == Errno.EEXIST)
            return false;
        throw IoError("create", path);
    }

    public void ReleaseClaim(IPAddress address)
    {
        BeforeChange?.Invoke("claim-unlink");
        Unlink(AddressPath(address));
    }

    public void DeleteIntent(AttachmentKey owner, int set)
    {
        BeforeChange?.Invoke("intent-unlink");
        Unlink(IntentPath(owner, set));
    }

    /// <summary>The cursor of a range set, kept in the lock file's bytes (its slot may be torn or empty: then null).</summary>
    public unsafe IPAddress? ReadCursor(FileDescriptorHandle lockFile, int set)
    {
        var slot = stackalloc byte[CursorSlot];
        var read = Libc.PRead(lockFile, slot, CursorSlot, (long)set * CursorSlot);
        if (read <= 0)
            return null;
        var span = new ReadOnlySpan<byte>(slot, (int)read);
        var end = span.IndexOf((byte)'\n');
        return end > 0 && AddressText.TryParseAddress(Encoding.ASCII.GetString(span[..end]), out var address) ? address : null;
    }

    public unsafe void WriteCursor(FileDescriptorHandle lockFile, int set, IPAddress address)
    {
        var slot = stackalloc byte[CursorSlot];
        new Span<byte>(slot, CursorSlot).Clear();
        var length = Encoding.ASCII.GetBytes(address + "\n", new Span<byte>(slot, CursorSlot));
        BeforeChange?.Invoke("cursor-write");
        // A failed cursor write costs only round robin; the allocation is already committed.
        _ = Libc.PWrite(lockFile, slot, CursorSlot, (long)set * CursorSlot);
    }

    /// <summary>Every entry under addresses/: its name, the address the name spells (if it does) and the claim.</summary>
    public List<(string Name, IPAddress? Address, Claim Claim)> ReadAllClaims()
    {
        var claims = new List<(string, IPAddress?, Claim)>();
        foreach (var name in Names(_addresses))
        {
            // File names are the canonical text of the address; anything else is not ours to trust.
            var address = AddressText.TryParseAddress(name, out var parsed) && parsed.ToString() == name ? parsed : null;
            claims.Add((name, address, address is null ? Claim.Foreign : ReadClaim(address)));
        }
        return claims;
    }

    /// <summary>Every entry under attachments/, with its record when it is a well-formed intent for its own name.</summary>
    public List<(string Name, int Set, ClaimRecord? Record)> ReadAllIntents()
    {
        var intents = new List<(string, int, ClaimRecord?)>();
        foreach (var name in Names(_attachments))
        {
            var hash = name.LastIndexOf('#');
            if (name.StartsWith(TempPrefix, StringComparison.Ordinal) || hash < 0 || !int.TryParse(name.AsSpan(hash + 1), out var set)
                || ReadRecordAt(Path.Combine(_attachments, name), out _) is not { } record || IntentName(record.Owner, set) != name)
                intents.Add((name, -1, null));
            else
                intents.Add((name, set, record));
        }
        return intents;
    }

    public void DeleteAddressEntry(string name)
    {
        BeforeChange?.Invoke("claim-unlink");
        Unlink(Path.Combine(_addresses, name));
    }

    public void DeleteIntentEntry(string name)
    {
        BeforeChange?.Invoke("intent-unlink");
        Unlink(Path.Combine(_attachments, name));
    }

    private static string IntentName(AttachmentKey owner, int set) => $"{owner.FileName}#{set}";

    private string IntentPath(AttachmentKey owner, int set) => Path.Combine(_attachments, IntentName(owner, set));

    private string AddressPath(IPAddress address) => Path.Combine(_addresses, address.ToString());

    private static IEnumerable<string> Names(string directory) =>
        System.IO.Directory.Exists(directory)
            ? System.IO.Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).OfType<string>().ToList()
            : [];

    private void CreateDirectories()
    {
        try
        {
            System.IO.Directory.CreateDirectory(_addresses);
            System.IO.Directory.CreateDirectory(_attachments);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IoFailure, $"ipam: cannot create data folder {Directory}: {Diagnostics.SystemErrorText.Describe(e)}", null, e);
        }
    }

    /// <summary>
    /// The record a symlink holds. Null with <paramref name="exists"/> set for an entry that is no record of ours
    /// (not a symlink, or a target that does not parse).
    /// </summary>
    private static unsafe ClaimRecord? ReadRecordAt(string path, out bool exists)
    {
        const int size = 1024;
        var buffer = stackalloc byte[size];
        var length = Libc.ReadLink(path, buffer, size);
        exists = true;
        if (length < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.ENOENT)
                exists = false;
            else if (errno != Errno.EINVAL) // EINVAL: not a symlink, so not written by this store
                throw IoError("read", path);
            return null;
        }
        return length == size ? null : ClaimRecord.Parse(Encoding.UTF8.GetString(buffer, (int)length));
    }

    private static void Unlink(string path)
    {
        if (Libc.Unlink(path) != 0 && Marshal.GetLastPInvokeError() != Errno.ENOENT)
            throw IoError("delete", path);
    }

    private static CniException IoError(string action, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new CniException(CniErrorCode.IoFailure, $"ipam: cannot {action} {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }
}

/// <summary>"address\ncontainerId\nifName\n": what an intent and its claim hold.</summary>
internal sealed record ClaimRecord(IPAddress Address, AttachmentKey Owner)
{
    public string Format() => $"{Address}\n{Owner.Record}";

    public static ClaimRecord? Parse(string text)
    {
        var newline = text.IndexOf('\n');
        if (newline <= 0 || !AddressText.TryParseAddress(text[..newline], out var address))
            return null;
        var owner = AttachmentKey.ParseRecord(text.AsSpan(newline + 1), out var consumed);
        return owner is { } key && newline + 1 + consumed == text.Length ? new ClaimRecord(address, key) : null;
    }
}

internal enum ClaimState
{
    /// <summary>No entry: the address is free.</summary>
    None,

    /// <summary>An entry that is not a claim this store wrote: the address is not free, and GC removes it.</summary>
    Foreign,

    Owned,
}

internal readonly record struct Claim(ClaimState State, AttachmentKey? Owner)
{
    public static readonly Claim None = new(ClaimState.None, null);

    public static readonly Claim Foreign = new(ClaimState.Foreign, null);

    public bool IsOwnedBy(AttachmentKey key) => State == ClaimState.Owned && Owner == key;
}
