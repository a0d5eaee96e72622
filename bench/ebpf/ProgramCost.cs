using System.Buffers.Binary;
using System.Net;
using Patronus.Agent.Datapath.Ebpf;
using Patronus.Agent.Datapath.Ebpf.Interop;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Netlink;
using Patronus.Bench.Nftables;

namespace Patronus.Bench.Ebpf;

/// <summary>
/// CPU per packet of the programs alone, by BPF_PROG_TEST_RUN: the kernel runs a program on a crafted packet
/// many times and reports the mean time of one run, leaving out time the thread spent rescheduled, so the
/// figure holds on a loaded machine where iperf3's do not. Each variant of the program gets maps of its own
/// (its own bpffs), filled by an EbpfDatapath with the benchmark's 1,000 policies but attached to no device, and
/// runs in the lab's node namespace (the kfunc variant's conntrack entries land there).
/// </summary>
internal static class ProgramCost
{
    private const int Repeat = 200_000;
    private const int NewFlows = 5_000;
    private const ushort DeniedPort = 5999;

    public sealed record Variant(string Name, string ObjectPath);

    public sealed record Figures(string Variant, double Established, double Reply, double Unreplied, double Denied, double NewFlow);

    public static Figures Measure(BenchLab lab, Variant variant)
    {
        var bpffs = Directory.CreateTempSubdirectory("patronus-bench-cost-").FullName;
        try
        {
            using (var datapath = new EbpfDatapath(new EbpfDatapathOptions { ObjectPath = variant.ObjectPath, Bpffs = bpffs, Bridge = "no-bridge-here", NetworkNamespacePath = lab.NodePath }))
                datapath.Reconcile([BenchPolicies.Client(lab), BenchPolicies.Server(lab, 5201)]);
            using var thread = new NamespaceThread(lab.NodePath, "patronus-bench-cost");
            return thread.Invoke(() =>
            {
                using var loaded = new LxcObject(variant.ObjectPath, bpffs);
                var client = lab.ClientAddress;
                var server = lab.ServerAddress;
                const int Tcp = 6, Udp = 17;
                // A TCP flow client:40000 -> server:5201, handshake through both checks so it is established.
                Run(loaded.FromPodFd, Packet(client, server, Tcp, 40000, 5201), 1);
                Run(loaded.ToPodFd, Packet(client, server, Tcp, 40000, 5201), 1);
                Run(loaded.FromPodFd, Packet(server, client, Tcp, 5201, 40000), 1);
                Run(loaded.ToPodFd, Packet(server, client, Tcp, 5201, 40000), 1);
                // The server's ingress check on a data segment of the flow, then the client's on the answer.
                var established = Run(loaded.ToPodFd, Packet(client, server, Tcp, 40000, 5201), Repeat);
                var reply = Run(loaded.ToPodFd, Packet(server, client, Tcp, 5201, 40000), Repeat);
                // UDP the server never answers: its ingress check judges every datagram against the 1,000 policies.
                var unreplied = Run(loaded.ToPodFd, Packet(client, server, Udp, 40001, 5201), Repeat);
                // A port no policy admits: dropped and counted.
                var denied = Run(loaded.ToPodFd, Packet(client, server, Udp, 40002, DeniedPort), Repeat);
                // A new flow each time (source ports counting up): judged and a flow started.
                var total = 0.0;
                for (var i = 0; i < NewFlows; i++)
                    total += Run(loaded.ToPodFd, Packet(client, server, Tcp, (ushort)(1024 + i), 5201), 1);
                return new Figures(variant.Name, established, reply, unreplied, denied, total / NewFlows);
            });
        }
        finally
        {
            BenchLab.Run("umount", $"-l {bpffs}");
            Directory.Delete(bpffs, recursive: true);
        }
    }

    private const uint TcActOk = 0, TcActShot = 2;

    /// <summary>Runs the program on the packet; the kernel's mean nanoseconds per run. Only the denied packet may be dropped: a variant that judged otherwise would be measuring something else.</summary>
    private static unsafe double Run(int programFd, byte[] packet, int repeat)
    {
        fixed (byte* data = packet)
        {
            var options = new BpfTestRunOptions
            {
                Size = (nuint)sizeof(BpfTestRunOptions),
                DataIn = data,
                DataSizeIn = (uint)packet.Length,
                Repeat = repeat,
            };
            BpfException.Check(LibBpf.ProgramTestRun(programFd, ref options), "BPF_PROG_TEST_RUN");
            var deniedPort = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(14 + 20 + 2)) == DeniedPort;
            if (options.ReturnValue != (deniedPort ? TcActShot : TcActOk))
                throw new InvalidOperationException($"the program returned {options.ReturnValue} for a packet to port {BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(14 + 20 + 2))}");
            return options.Duration;
        }
    }

    /// <summary>Ethernet, IPv4 and the first bytes of a TCP or UDP header (ports, then zeros): all the programs read.</summary>
    private static byte[] Packet(IPAddress source, IPAddress destination, byte protocol, ushort sourcePort, ushort destinationPort)
    {
        var packet = new byte[14 + 20 + 20 + 64];
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(12), 0x0800);
        var ip = packet.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(packet.Length - 14));
        ip[8] = 64;
        ip[9] = protocol;
        source.TryWriteBytes(ip[12..], out _);
        destination.TryWriteBytes(ip[16..], out _);
        var l4 = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(l4, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(l4[2..], destinationPort);
        if (protocol == 6)
            l4[12] = 0x50; // data offset: 5 words
        else
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)(packet.Length - 14 - 20));
        return packet;
    }
}
