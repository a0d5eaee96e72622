using System.Runtime.InteropServices;
using Patronus.Agent.Datapath.Ebpf.Interop;
using Patronus.Agent.Datapath.Ebpf.Maps;

namespace Patronus.Agent.Datapath.Ebpf;

/// <summary>
/// bpf/patronus_lxc.o loaded: its maps pinned under one directory of a bpffs (reused when a previous agent
/// pinned them: the kernel state carries over), its two programs loaded and pinned, ready to attach to
/// host-side veths. The pin directory carries the map layout version, so an agent with a different layout
/// never misreads maps it does not understand.
/// </summary>
internal sealed class LxcObject : IDisposable
{
    public const string FromPodProgram = "from_pod";
    public const string ToPodProgram = "to_pod";

    /// <summary>tc filter handle and priority of our programs on every veth: a later load replaces the filter in place.</summary>
    public const uint FilterHandle = 1;
    public const uint FilterPriority = 1;

    private readonly BpfObjectHandle _object;
    private readonly Dictionary<string, BpfMap> _maps = [];

    public string PinDirectory { get; }
    public int FromPodFd { get; }
    public int ToPodFd { get; }

    public BpfMap Endpoints => _maps["endpoints"];
    public BpfMap PeerRules => _maps["peer_rules"];
    public BpfMap PortRules => _maps["port_rules"];
    public BpfMap NodeAddresses => _maps["node_addresses"];
    public BpfMap Conntrack => _maps["conntrack"];
    public BpfMap DropCounters => _maps["drop_counters"];
    public BpfMap DropCounterNames => _maps["drop_counter_names"];
    public BpfMap RcuBarrier => _maps["rcu_barrier"];
    public int RcuBarrierInnerFd => _innerBarrierFd;

    private readonly int _innerBarrierFd;

    public static readonly IReadOnlyDictionary<string, (int Key, int Value)> ExpectedLayouts = new Dictionary<string, (int, int)>
    {
        ["endpoints"] = (MapEncoding.AddressSize, MapEncoding.EndpointValueSize),
        ["peer_rules"] = (MapEncoding.PeerKeySize, MapEncoding.PeerValueSize),
        ["port_rules"] = (MapEncoding.PortKeySize, MapEncoding.PortValueSize),
        ["node_addresses"] = (MapEncoding.AddressSize, 4),
        ["conntrack"] = (40, 16),
        ["drop_counters"] = (4, MapEncoding.DropCounterSize),
        ["drop_counter_names"] = (4, MapEncoding.CounterNameSize),
    };

    public LxcObject(string objectPath, string bpffs)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("the eBPF map encodings assume a little-endian host");
        if (!File.Exists(objectPath))
            throw new FileNotFoundException($"BPF object {objectPath} does not exist; build it with ./build.sh (needs clang)", objectPath);
        BpfFileSystem.Ensure(bpffs);
        PinDirectory = Path.Combine(bpffs, "patronus", $"v{MapEncoding.Layout}");
        Directory.CreateDirectory(PinDirectory);

        _object = LibBpf.ObjectOpen(objectPath);
        if (_object.IsInvalid)
            throw BpfException.FromLastError($"opening BPF object {objectPath}");
        try
        {
            for (var map = LibBpf.NextMap(_object, IntPtr.Zero); map != IntPtr.Zero; map = LibBpf.NextMap(_object, map))
            {
                var name = Marshal.PtrToStringUTF8(LibBpf.MapName(map))!;
                if (name.StartsWith("rcu_barrier", StringComparison.Ordinal))
                    continue;
                BpfException.Check(LibBpf.MapSetPinPath(map, Path.Combine(PinDirectory, name)), $"setting the pin path of map {name}");
            }
            BpfException.Check(LibBpf.ObjectLoad(_object), $"loading {objectPath} (maps pinned in {PinDirectory}; the verifier log is on stderr)");

            for (var map = LibBpf.NextMap(_object, IntPtr.Zero); map != IntPtr.Zero; map = LibBpf.NextMap(_object, map))
            {
                var name = Marshal.PtrToStringUTF8(LibBpf.MapName(map))!;
                var bpfMap = new BpfMap(name, LibBpf.MapFd(map), (int)LibBpf.MapKeySize(map), (int)LibBpf.MapValueSize(map));
                if (ExpectedLayouts.TryGetValue(name, out var expected) && (expected.Key != bpfMap.KeySize || expected.Value != bpfMap.ValueSize))
                    throw new InvalidOperationException($"map {name} in {objectPath} has {bpfMap.KeySize}-byte keys and {bpfMap.ValueSize}-byte values; this agent encodes {expected.Key} and {expected.Value}: object and agent are from different builds");
                _maps[name] = bpfMap;
                if (name == "rcu_barrier_inner")
                    _innerBarrierFd = bpfMap.Fd;
            }
            foreach (var name in ExpectedLayouts.Keys)
                if (!_maps.ContainsKey(name))
                    throw new InvalidOperationException($"BPF object {objectPath} has no map {name}: object and agent are from different builds");
            FromPodFd = Pin(FromPodProgram, objectPath);
            ToPodFd = Pin(ToPodProgram, objectPath);
        }
        catch
        {
            _object.Dispose();
            throw;
        }
    }

    /// <summary>Pins the freshly loaded program, replacing the pin of an older load (attached filters keep their own reference).</summary>
    private int Pin(string name, string objectPath)
    {
        var program = LibBpf.FindProgramByName(_object, name);
        if (program == IntPtr.Zero)
            throw new InvalidOperationException($"BPF object {objectPath} has no program {name}");
        var fd = LibBpf.ProgramFd(program);
        var path = Path.Combine(PinDirectory, name);
        File.Delete(path);
        if (LibBpf.ObjPin(fd, path) != 0)
            throw BpfException.FromLastError($"pinning program {name} at {path}");
        return fd;
    }

    /// <summary>
    /// Puts both programs on a device (in the calling thread's network namespace): the clsact qdisc if missing,
    /// then a direct-action cls_bpf filter on each side, replacing in place whatever program an earlier load put
    /// there, so the device is never without one.
    /// </summary>
    /// <param name="hasClsact">The device has its clsact qdisc already: asking for it again only makes libbpf print the kernel's refusal on stderr.</param>
    public void Attach(int ifIndex, string device, bool hasClsact)
    {
        if (!hasClsact)
        {
            var hook = new TcHook { Size = (nuint)Marshal.SizeOf<TcHook>(), IfIndex = ifIndex, AttachPoint = TcAttachPoint.Ingress | TcAttachPoint.Egress };
            var created = LibBpf.TcHookCreate(ref hook);
            if (created != -BpfException.EEXIST)
                BpfException.Check(created, $"adding the clsact qdisc to {device}");
        }
        AttachOne(ifIndex, device, TcAttachPoint.Ingress, FromPodFd);
        AttachOne(ifIndex, device, TcAttachPoint.Egress, ToPodFd);
    }

    private static void AttachOne(int ifIndex, string device, TcAttachPoint point, int programFd)
    {
        var hook = new TcHook { Size = (nuint)Marshal.SizeOf<TcHook>(), IfIndex = ifIndex, AttachPoint = point };
        var options = new TcOptions
        {
            Size = (nuint)Marshal.SizeOf<TcOptions>(),
            ProgramFd = programFd,
            Flags = TcOptions.Replace,
            Handle = FilterHandle,
            Priority = FilterPriority,
        };
        BpfException.Check(LibBpf.TcAttach(ref hook, ref options), $"attaching the {point.ToString().ToLowerInvariant()} program to {device}");
    }

    public void Dispose() => _object.Dispose();
}
