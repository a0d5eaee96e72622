using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Patronus.Cli.Lab.Wan.Interop;

/// <summary>
/// An AF_PACKET socket on one interface: every frame that arrives there, whatever its address or protocol, and a way
/// to put whole frames on it. Hand-written because .NET's Socket has no sockaddr_ll endpoint to bind a packet socket
/// to one interface.
/// </summary>
internal sealed unsafe partial class PacketSocket : IDisposable
{
    private const string Libc = "libc";
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const int SolPacket = 263;
    private const int PacketAddMembership = 1;
    private const int PacketMrPromisc = 1;
    private const int PacketIgnoreOutgoing = 23;
    private const int SolSocket = 1;
    private const int SoRcvbuf = 8;
    private const int SoSndbuf = 7;
    private const int Eintr = 4;
    private const ushort EthPAll = 0x0003;

    private readonly SafeFileHandle _handle;

    public string Interface { get; }

    private PacketSocket(SafeFileHandle handle, string name)
    {
        _handle = handle;
        Interface = name;
    }

    /// <summary>Opens a packet socket bound to <paramref name="name"/> in the calling thread's network namespace, in promiscuous mode.</summary>
    public static PacketSocket Open(string name)
    {
        var index = IfNameToIndex(name);
        if (index == 0)
            throw new IOException($"interface {name}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        var protocol = BinaryPrimitives.ReverseEndianness(EthPAll);
        var fd = Socket(AfPacket, SockRaw, protocol);
        if (fd < 0)
            throw Error($"packet socket on {name}");
        var socket = new PacketSocket(new SafeFileHandle(fd, ownsHandle: true), name);
        try
        {
            // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
            var address = stackalloc byte[20];
            new Span<byte>(address, 20).Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(address, 2), AfPacket);
            *(ushort*)(address + 2) = protocol;
            *(int*)(address + 4) = index;
            if (Bind(fd, address, 20) != 0)
                throw Error($"bind to {name}");
            // struct packet_mreq: ifindex, type, alen, address[8]. A bridge port only passes frames for known
            // addresses up to a non-promiscuous interface; the relay must see every frame.
            var membership = stackalloc byte[16];
            new Span<byte>(membership, 16).Clear();
            *(int*)membership = index;
            *(ushort*)(membership + 4) = PacketMrPromisc;
            if (SetSockOpt(fd, SolPacket, PacketAddMembership, membership, 16) != 0)
                throw Error($"promiscuous mode on {name}");
            // Frames the relay itself puts on the interface must not come back to it as received ones.
            var one = 1;
            if (SetSockOpt(fd, SolPacket, PacketIgnoreOutgoing, &one, sizeof(int)) != 0)
                throw Error($"PACKET_IGNORE_OUTGOING on {name}");
            // Room for a burst at a few hundred Mbit/s while a thread is descheduled on a busy two-core machine.
            var size = 4 << 20;
            SetSockOpt(fd, SolSocket, SoRcvbuf, &size, sizeof(int));
            SetSockOpt(fd, SolSocket, SoSndbuf, &size, sizeof(int));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Blocks until a frame arrives; its length (a frame longer than <paramref name="buffer"/> is cut).</summary>
    public int Receive(Span<byte> buffer)
    {
        while (true)
        {
            nint received;
            fixed (byte* pointer = buffer)
                received = Recv(_handle.DangerousGetHandle(), pointer, buffer.Length, 0);
            if (received >= 0)
                return (int)received;
            if (Marshal.GetLastPInvokeError() != Eintr)
                throw Error($"receive on {Interface}");
        }
    }

    /// <summary>Puts a frame on the interface; false when the kernel refused it (a full queue, a frame too long).</summary>
    public bool Send(ReadOnlySpan<byte> frame)
    {
        fixed (byte* pointer = frame)
            return SendTo(_handle.DangerousGetHandle(), pointer, frame.Length, 0) == frame.Length;
    }

    public void Dispose() => _handle.Dispose();

    private static IOException Error(string what) =>
        new($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport(Libc, EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int IfNameToIndex(string name);

    [LibraryImport(Libc, EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Libc, EntryPoint = "bind", SetLastError = true)]
    private static partial int Bind(int fd, byte* address, int length);

    [LibraryImport(Libc, EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    [LibraryImport(Libc, EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(nint fd, byte* buffer, nint length, int flags);

    [LibraryImport(Libc, EntryPoint = "send", SetLastError = true)]
    private static partial nint SendTo(nint fd, byte* buffer, nint length, int flags);
}
