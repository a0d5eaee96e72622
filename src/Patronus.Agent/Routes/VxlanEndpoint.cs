using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Patronus.Agent.Routes;

/// <summary>
/// A node's end of the VXLAN overlay, derived from what every node already knows of every other (its Node
/// object), so no node has to publish anything: flannel writes its VTEP MAC into a Node annotation, which
/// needs write access to Nodes; a MAC derived from the node's underlay address needs none.
/// </summary>
public sealed record VxlanEndpoint(IPAddress Underlay, byte[] Mac, IPAddress? AddressV4, IPAddress LinkLocalV6)
{
    /// <summary>The overlay's VXLAN network identifier and UDP port (the Linux kernel's and flannel's 8472).</summary>
    public const int Vni = 4242;
    public const int Port = 8472;

    /// <summary>Outer IPv4 + UDP + VXLAN + inner Ethernet headers; 70 with an IPv6 underlay.</summary>
    public static int Overhead(AddressFamily underlay) => underlay == AddressFamily.InterNetwork ? 50 : 70;

    public static VxlanEndpoint For(IPAddress underlay, IPNetwork? podCidrV4)
    {
        var mac = MacFor(underlay);
        // The network address of the node's IPv4 pod range is never a pod's (IPAM starts after it), so it is
        // free to be the VTEP's address: the next hop that remote nodes route this node's pods to.
        return new VxlanEndpoint(underlay, mac, podCidrV4?.BaseAddress, LinkLocalFor(mac));
    }

    /// <summary>
    /// A locally administered unicast MAC (first octet 0x4e: bit 1 set, bit 0 clear). An IPv4 underlay address is
    /// used as is, so two nodes never share a MAC; an IPv6 one is hashed down to four bytes.
    /// </summary>
    public static byte[] MacFor(IPAddress underlay)
    {
        var bytes = underlay.GetAddressBytes();
        if (bytes.Length != 4)
            bytes = SHA256.HashData(bytes)[..4];
        return [0x4e, 0x50, bytes[0], bytes[1], bytes[2], bytes[3]];
    }

    /// <summary>
    /// The IPv6 link-local address the kernel gives a device with this MAC (modified EUI-64, RFC 4291 appendix A):
    /// IPv6 pod ranges are routed to it, so the overlay needs no IPv6 address of its own.
    /// </summary>
    public static IPAddress LinkLocalFor(ReadOnlySpan<byte> mac)
    {
        Span<byte> address = stackalloc byte[16];
        address[0] = 0xfe;
        address[1] = 0x80;
        address[8] = (byte)(mac[0] ^ 0x02);
        address[9] = mac[1];
        address[10] = mac[2];
        address[11] = 0xff;
        address[12] = 0xfe;
        address[13] = mac[3];
        address[14] = mac[4];
        address[15] = mac[5];
        return new IPAddress(address);
    }
}
