using Patronus.Netlink.Interop;

namespace Patronus.Netlink.Protocol;

/// <summary>Called once per reply message of a request; <paramref name="state"/> carries the caller's results.</summary>
internal delegate void NetlinkReplyHandler<TState>(TState state, in NetlinkMessage message);

/// <summary>
/// One netlink socket with one reusable send buffer and one reusable receive buffer. Not thread-safe:
/// a handle is used by one thread at a time (the CNI plugin is single-threaded).
/// </summary>
internal sealed class NetlinkSocket : IDisposable
{
    // A dump reply is at most one page-sized skb chain (about 32 KiB on 4 KiB pages); 64 KiB leaves room
    // for 64 KiB pages too. A datagram that still does not fit is reported, never silently cut.
    private const int ReceiveBufferLength = 64 * 1024;
    private const int SendBufferLength = 16 * 1024;
    private const int MaxDumpAttempts = 5;

    // Far above any echo seen (1-5 ms under load): only a child that is stuck ever reaches it.
    private const int ChildSilenceLimitMs = 5000;

    private readonly FileDescriptorHandle _fd;
    private readonly byte[] _send = new byte[SendBufferLength];
    private readonly byte[] _receive = new byte[ReceiveBufferLength];
    private uint _sequence;

    private NetlinkSocket(FileDescriptorHandle fd)
    {
        _fd = fd;
        _sequence = (uint)Environment.TickCount;
    }

    public static unsafe NetlinkSocket Open(int protocol)
    {
        var raw = Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, protocol);
        if (raw < 0)
        {
            throw NetlinkException.FromLastError("open", "netlink socket");
        }

        var fd = new FileDescriptorHandle(raw);
        try
        {
            var one = 1;
            // Extended ack gives the kernel's reason text; cap ack keeps error replies short.
            if (Libc.SetSockOpt(fd, Libc.SOL_NETLINK, Libc.NETLINK_EXT_ACK, &one, sizeof(int)) != 0
                || Libc.SetSockOpt(fd, Libc.SOL_NETLINK, Libc.NETLINK_CAP_ACK, &one, sizeof(int)) != 0)
            {
                throw NetlinkException.FromLastError("configure", "netlink socket");
            }

            var address = new Libc.SockAddrNetlink { Family = Libc.AF_NETLINK };
            if (Libc.Bind(fd, &address, sizeof(Libc.SockAddrNetlink)) != 0)
            {
                throw NetlinkException.FromLastError("bind", "netlink socket");
            }

            return new NetlinkSocket(fd);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>A writer over the socket's reusable send buffer; the previous request is overwritten.</summary>
    public NetlinkMessageWriter Writer() => new(_send);

    public uint NextSequence() => ++_sequence;

    /// <summary>Sends a request that asks for an acknowledgement and waits for it.</summary>
    public void Execute(ref NetlinkMessageWriter request, string operation, string target)
        => Exchange(request.EndMessage(), operation, target, 0, static (_, in _) => { });

    /// <summary>Sends a request and hands every reply message to <paramref name="handler"/>.</summary>
    public void Query<TState>(ref NetlinkMessageWriter request, string operation, string target, TState state, NetlinkReplyHandler<TState> handler)
        => Exchange(request.EndMessage(), operation, target, state, handler);

    /// <summary>
    /// Runs a dump into a list; when the kernel flags the dump as interrupted (the table changed while it was
    /// read, NLM_F_DUMP_INTR) the list is cleared and the dump repeated.
    /// </summary>
    public void Dump<T>(ref NetlinkMessageWriter request, string operation, string target, List<T> results, NetlinkReplyHandler<List<T>> handler)
    {
        var bytes = request.EndMessage();
        for (var attempt = 1; ; attempt++)
        {
            results.Clear();
            var interrupted = Exchange(bytes, operation, target, results, handler);
            if (!interrupted)
            {
                return;
            }

            if (attempt == MaxDumpAttempts)
            {
                throw new NetlinkException(operation, target, Errno.EINTR, "dump kept being interrupted by concurrent changes");
            }

            HostOrder.WriteUInt32(_send.AsSpan(8), ++_sequence);
        }
    }

    /// <summary>
    /// Sends a request that carries NLM_F_ECHO from a detached child (<see cref="DetachedRequest"/>) and returns
    /// as soon as the kernel echoes it as a <paramref name="echoType"/> message, or acknowledges it; a kernel
    /// error is thrown as from <see cref="Execute"/>. The kernel sends the echo when the change is visible and
    /// the acknowledgement only when the whole request is done, so this returns at the first. Without fork (or
    /// when the child died before the kernel saw the request) the request runs in-process, as Execute would.
    /// </summary>
    public unsafe void ExecuteUntilEcho(ref NetlinkMessageWriter request, ushort echoType, string operation, string target)
    {
        var bytes = request.EndMessage();
        if (!DetachedRequest.IsAvailable)
        {
            Exchange(bytes, operation, target, 0, static (_, in _) => { });
            return;
        }

        var sequence = HostOrder.ReadUInt32(bytes[8..]);
        var pipe = stackalloc int[2];
        if (Libc.Pipe2(pipe, Libc.O_CLOEXEC) != 0)
        {
            // Out of descriptors: the request still gets done, only in-process.
            Exchange(bytes, operation, target, 0, static (_, in _) => { });
            return;
        }

        using var childExit = new FileDescriptorHandle(pipe[0]);
        int child;
        var addRef = false;
        try
        {
            _fd.DangerousAddRef(ref addRef);
            fixed (byte* p = bytes)
            {
                child = DetachedRequest.Start(_fd.Fd, p, (nuint)bytes.Length, pipe[1]);
            }
        }
        finally
        {
            Libc.Close(pipe[1]);
            if (addRef)
            {
                _fd.DangerousRelease();
            }
        }

        if (child < 0 || !AwaitEchoOrAck(sequence, echoType, child, childExit, operation, target))
        {
            Exchange(bytes, operation, target, 0, static (_, in _) => { });
        }
    }

    /// <summary>True once the echo or the ack arrived; false when the child exited and the kernel never answered.</summary>
    private unsafe bool AwaitEchoOrAck(uint sequence, ushort echoType, int child, FileDescriptorHandle childExit, string operation, string target)
    {
        var fds = stackalloc Libc.PollFd[2];
        var killed = false;
        while (true)
        {
            fds[0] = new Libc.PollFd { Fd = _fd.Fd, Events = Libc.POLLIN };
            fds[1] = new Libc.PollFd { Fd = childExit.Fd, Events = Libc.POLLIN };
            var ready = Libc.Poll(fds, 2, killed ? -1 : ChildSilenceLimitMs);
            if (ready == 0)
            {
                // A child stuck before its send (it never should be) is killed; one already inside the kernel
                // finishes that request first. Either way its exit ends the wait, and the request is run here
                // if the kernel never answered it.
                Libc.Kill(child, Libc.SIGKILL);
                killed = true;
                continue;
            }

            if (ready < 0)
            {
                if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Errno.EINTR)
                {
                    continue;
                }

                throw NetlinkException.FromLastError(operation, target);
            }

            // Drain the socket before looking at the child: it exits only after the kernel queued its answer.
            while (true)
            {
                nint received;
                fixed (byte* p = _receive)
                {
                    received = Libc.Receive(_fd, p, (nuint)_receive.Length, Libc.MSG_TRUNC | Libc.MSG_DONTWAIT);
                }

                if (received < 0)
                {
                    var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                    if (errno is Errno.EAGAIN or Errno.EINTR)
                    {
                        break;
                    }

                    throw NetlinkException.FromLastError(operation, target);
                }

                var reader = new NetlinkMessageReader(_receive.AsSpan(0, (int)Math.Min(received, _receive.Length)));
                while (reader.TryRead(out var message))
                {
                    if (message.Sequence != sequence)
                    {
                        continue;
                    }

                    if (message.Type == NetlinkMessageType.Error)
                    {
                        var errno = NetlinkError.Decode(message, out var kernelMessage);
                        if (errno != 0)
                        {
                            throw new NetlinkException(operation, target, errno, kernelMessage);
                        }

                        return true;
                    }

                    if (message.Type == echoType)
                    {
                        return true;
                    }
                }
            }

            if ((fds[1].Returned & (Libc.POLLIN | Libc.POLLHUP)) != 0)
            {
                return false;
            }
        }
    }

    public void Dispose() => _fd.Dispose();

    private unsafe bool Exchange<TState>(ReadOnlySpan<byte> request, string operation, string target, TState state, NetlinkReplyHandler<TState> handler)
    {
        var sequence = HostOrder.ReadUInt32(request[8..]);
        var flags = HostOrder.ReadUInt16(request[6..]);
        var expectsAck = (flags & NetlinkFlags.Ack) != 0;
        var isDump = (flags & NetlinkFlags.Dump) == NetlinkFlags.Dump;

        fixed (byte* p = request)
        {
            if (Libc.Send(_fd, p, (nuint)request.Length, 0) < 0)
            {
                throw NetlinkException.FromLastError(operation, target);
            }
        }

        var interrupted = false;
        while (true)
        {
            nint received;
            fixed (byte* p = _receive)
            {
                do
                {
                    received = Libc.Receive(_fd, p, (nuint)_receive.Length, Libc.MSG_TRUNC);
                }
                while (received < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Errno.EINTR);
            }

            if (received < 0)
            {
                throw NetlinkException.FromLastError(operation, target);
            }

            if (received > _receive.Length)
            {
                throw new NetlinkException(operation, target, Errno.EMSGSIZE, $"reply of {received} bytes exceeds the {_receive.Length}-byte buffer");
            }

            var reader = new NetlinkMessageReader(_receive.AsSpan(0, (int)received));
            while (reader.TryRead(out var message))
            {
                if (message.Sequence != sequence)
                {
                    continue; // a late reply to an earlier request that was abandoned
                }

                if ((message.Flags & NetlinkFlags.DumpInterrupted) != 0)
                {
                    interrupted = true;
                }

                switch (message.Type)
                {
                    case NetlinkMessageType.Error:
                        var errno = NetlinkError.Decode(message, out var kernelMessage);
                        if (errno != 0)
                        {
                            throw new NetlinkException(operation, target, errno, kernelMessage);
                        }

                        return interrupted;
                    case NetlinkMessageType.Done:
                        // A dump that fails part-way reports the error in NLMSG_DONE's payload.
                        var doneErrno = NetlinkError.DecodeDone(message, out var doneMessage);
                        if (doneErrno > 0)
                        {
                            throw new NetlinkException(operation, target, doneErrno, doneMessage);
                        }

                        return interrupted;
                    case NetlinkMessageType.Noop:
                        continue;
                    default:
                        handler(state, message);
                        if (!isDump && !expectsAck && (message.Flags & NetlinkFlags.Multi) == 0)
                        {
                            return interrupted;
                        }

                        break;
                }
            }
        }
    }
}
