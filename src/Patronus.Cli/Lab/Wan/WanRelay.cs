using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Patronus.Cli.Lab.Wan.Interop;

namespace Patronus.Cli.Lab.Wan;

/// <summary>
/// The process that is a WAN link: it takes every frame that arrives on one side's relay port and puts it on the
/// other side's, in each direction through a <see cref="LinkShaper"/> (rate, loss, delay, jitter) and a
/// <see cref="DelayLine{T}"/>. Being a frame relay, it is transparent: ARP, ICMP, WireGuard's UDP and anything later
/// all see the same link. Each direction has a thread blocked in recv and a thread asleep until the next frame is due,
/// so an idle link costs nothing but a settings check five times a second. The settings file is reread when it
/// changes, so <c>lab wan</c> changes a link without a restart and tunnels across it keep their sessions.
/// </summary>
internal sealed class WanRelay : IDisposable
{
    private static readonly TimeSpan SettingsPoll = TimeSpan.FromMilliseconds(200);

    private readonly Direction[] _directions;
    private readonly string _settingsFile;
    private readonly string _appliedFile;
    private readonly TextWriter _log;

    private WanRelay(Direction[] directions, string settingsFile, string appliedFile, TextWriter log)
    {
        _directions = directions;
        _settingsFile = settingsFile;
        _appliedFile = appliedFile;
        _log = log;
    }

    /// <summary>Opens both relay ports (in the calling thread's namespace) and applies the settings file.</summary>
    public static WanRelay Open(string sideA, string sideB, string settingsFile, string appliedFile, TextWriter log)
    {
        var a = PacketSocket.Open(sideA);
        PacketSocket b;
        try
        {
            b = PacketSocket.Open(sideB);
        }
        catch
        {
            a.Dispose();
            throw;
        }
        var seed = Environment.TickCount;
        return new WanRelay([new Direction($"{sideA}->{sideB}", a, b, new Random(seed)), new Direction($"{sideB}->{sideA}", b, a, new Random(seed + 1))],
            settingsFile, appliedFile, log);
    }

    /// <summary>Relays until <paramref name="cancellation"/> fires.</summary>
    public void Run(CancellationToken cancellation)
    {
        DateTime? seen = null;
        Reload(ref seen);
        foreach (var direction in _directions)
            direction.Start();
        while (!cancellation.WaitHandle.WaitOne(SettingsPoll))
            Reload(ref seen);
    }

    private void Reload(ref DateTime? seen)
    {
        DateTime written;
        WanLinkSettings settings;
        try
        {
            written = File.GetLastWriteTimeUtc(_settingsFile);
            if (written == seen)
                return;
            settings = WanLinkSettings.Read(_settingsFile);
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            _log.WriteLine($"relay: cannot read {_settingsFile}, keeping the settings in force: {e.Message}");
            return;
        }
        seen = written;
        foreach (var direction in _directions)
            direction.Apply(settings);
        File.WriteAllText(_appliedFile + ".tmp", settings.Generation.ToString(CultureInfo.InvariantCulture));
        File.Move(_appliedFile + ".tmp", _appliedFile, overwrite: true);
        _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"relay: generation {settings.Generation}: {(settings.Up ? "up" : "down")}, delay {settings.Delay} ms, jitter {settings.Jitter} ms, loss {settings.Loss} %, rate {(settings.Rate is { } r ? $"{r} Mbit/s" : "unlimited")}; {string.Join("; ", _directions.Select(d => d.Counters()))}"));
        _log.Flush();
    }

    public void Dispose()
    {
        foreach (var direction in _directions)
            direction.Dispose();
    }

    private static double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    private readonly record struct Frame(byte[] Buffer, int Length);

    private sealed class Direction(string name, PacketSocket from, PacketSocket to, Random random) : IDisposable
    {
        // The largest frame an interface with a 64 KB MTU could hand over; wire-sized frames are the rule.
        private const int MaxFrame = 65_600;
        private readonly object _gate = new();
        private readonly LinkShaper _shaper = new(random);
        private readonly DelayLine<Frame> _line = new();
        private long _relayed;
        private long _sendFailed;

        public void Start()
        {
            new Thread(Receive) { IsBackground = true, Name = $"relay {name} in" }.Start();
            new Thread(Deliver) { IsBackground = true, Name = $"relay {name} out" }.Start();
        }

        public void Apply(WanLinkSettings settings)
        {
            List<Frame> dropped = [];
            lock (_gate)
            {
                _shaper.Apply(settings);
                if (!settings.Up)
                    dropped = _line.TakeAll();
                Monitor.Pulse(_gate);
            }
            foreach (var frame in dropped)
                ArrayPool<byte>.Shared.Return(frame.Buffer);
        }

        public string Counters()
        {
            lock (_gate)
                return $"{name}: relayed {_relayed}, dropped down {_shaper.DroppedDown} loss {_shaper.DroppedLoss} queue {_shaper.DroppedQueue}, refused {_sendFailed}";
        }

        private void Receive()
        {
            var buffer = new byte[MaxFrame];
            try
            {
                while (true)
                {
                    var length = from.Receive(buffer);
                    var now = Now;
                    lock (_gate)
                    {
                        if (!_shaper.Admit(now, length, out var due))
                            continue;
                        var copy = ArrayPool<byte>.Shared.Rent(length);
                        buffer.AsSpan(0, length).CopyTo(copy);
                        _line.Add(new Frame(copy, length), due);
                        Monitor.Pulse(_gate);
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The relay is closing.
            }
        }

        private void Deliver()
        {
            while (true)
            {
                Frame frame;
                lock (_gate)
                {
                    while (true)
                    {
                        var now = Now;
                        if (_line.TryTakeDue(now, out frame))
                            break;
                        if (_line.NextDue is { } next)
                            // Monitor.Wait counts whole milliseconds: round up, so a frame is never sent early.
                            Monitor.Wait(_gate, (int)Math.Ceiling(Math.Max(next - now, 0) * 1000));
                        else
                            Monitor.Wait(_gate);
                    }
                    _relayed++;
                }
                try
                {
                    if (!to.Send(frame.Buffer.AsSpan(0, frame.Length)))
                        Interlocked.Increment(ref _sendFailed);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame.Buffer);
                }
            }
        }

        public void Dispose()
        {
            from.Dispose();
        }
    }
}
