using Patronus.Agent.Datapath.Ebpf.Interop;

namespace Patronus.Agent.Datapath.Ebpf.Maps;

/// <summary>
/// One map of the loaded object, by descriptor (owned by the object: valid until it is closed). Keys and
/// values are the byte layouts of <see cref="MapEncoding"/>; sizes are checked on every call.
/// </summary>
internal sealed unsafe class BpfMap(string name, int fd, int keySize, int valueSize)
{
    public string Name { get; } = name;
    public int Fd { get; } = fd;
    public int KeySize { get; } = keySize;
    public int ValueSize { get; } = valueSize;

    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckSizes(key, value.Length);
        fixed (byte* k = key)
        fixed (byte* v = value)
            BpfException.Check(LibBpf.MapUpdateElem(Fd, k, v, LibBpf.UpdateAny), $"updating an element of map {Name}");
    }

    /// <summary>Removes the key; false when it was not there.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckSizes(key, ValueSize);
        fixed (byte* k = key)
        {
            var result = LibBpf.MapDeleteElem(Fd, k);
            if (result == -BpfException.ENOENT)
                return false;
            BpfException.Check(result, $"deleting an element of map {Name}");
            return true;
        }
    }

    /// <summary>Reads the value of the key into <paramref name="value"/> (for per-CPU maps: one value per possible CPU); false when absent.</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckSizes(key, ValueSize);
        if (value.Length < ValueSize)
            throw new ArgumentException($"map {Name}: value buffer of {value.Length} bytes, needs {ValueSize}");
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var result = LibBpf.MapLookupElem(Fd, k, v);
            if (result == -BpfException.ENOENT)
                return false;
            BpfException.Check(result, $"reading an element of map {Name}");
            return true;
        }
    }

    /// <summary>Every key, read before anything is changed (deleting while walking would restart the walk).</summary>
    public List<byte[]> Keys()
    {
        var keys = new List<byte[]>();
        var next = new byte[KeySize];
        byte[]? current = null;
        while (true)
        {
            int result;
            fixed (byte* c = current)
            fixed (byte* n = next)
                result = LibBpf.MapGetNextKey(Fd, current is null ? null : c, n);
            if (result == -BpfException.ENOENT)
                return keys;
            BpfException.Check(result, $"listing the keys of map {Name}");
            keys.Add(next);
            current = next;
            next = new byte[KeySize];
        }
    }

    private void CheckSizes(ReadOnlySpan<byte> key, int valueLength)
    {
        if (key.Length != KeySize || valueLength != ValueSize)
            throw new ArgumentException($"map {Name}: key of {key.Length} bytes and value of {valueLength}, the map has {KeySize} and {ValueSize}");
    }
}
