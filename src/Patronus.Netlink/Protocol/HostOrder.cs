using System.Buffers.Binary;

namespace Patronus.Netlink.Protocol;

/// <summary>Reads netlink's host-order integers; spelled out so every read states its byte order.</summary>
internal static class HostOrder
{
    public static ushort ReadUInt16(ReadOnlySpan<byte> source) => BitConverter.IsLittleEndian
        ? BinaryPrimitives.ReadUInt16LittleEndian(source)
        : BinaryPrimitives.ReadUInt16BigEndian(source);

    public static uint ReadUInt32(ReadOnlySpan<byte> source) => BitConverter.IsLittleEndian
        ? BinaryPrimitives.ReadUInt32LittleEndian(source)
        : BinaryPrimitives.ReadUInt32BigEndian(source);

    public static int ReadInt32(ReadOnlySpan<byte> source) => (int)ReadUInt32(source);

    public static ulong ReadUInt64(ReadOnlySpan<byte> source) => BitConverter.IsLittleEndian
        ? BinaryPrimitives.ReadUInt64LittleEndian(source)
        : BinaryPrimitives.ReadUInt64BigEndian(source);

    public static void WriteUInt16(Span<byte> destination, ushort value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination, value);
        }
    }

    public static void WriteUInt32(Span<byte> destination, uint value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, value);
        }
    }

    public static void WriteUInt64(Span<byte> destination, ulong value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, value);
        }
    }
}
