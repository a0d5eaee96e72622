using System.Net;
using NSec.Cryptography;
using Patronus.Agent.Services;
using Patronus.Agent.Services.Announcement;
using Patronus.Agent.Services.Exchange;
using Patronus.Agent.Services.Model;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using static Patronus.Agent.Tests.Services.ServiceExports;

namespace Patronus.Agent.Tests.Services;

/// <summary>The service exchange's envelope (real Ed25519 keys and certificates) and what a receiver keeps of what it hears.</summary>
public sealed class ServiceExchangeTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 7, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("patronus-svcx-").FullName;
    private readonly Key _setKey = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
    private readonly ServicesOptions _options = new();

    private byte[] SetPublicKey => _setKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);

    private MemberIdentity Member(string id, Key? setKey = null, DateTimeOffset? notAfter = null)
    {
        var folder = Path.Combine(_root, id + Guid.NewGuid().ToString("N")[..6]);
        var identityKey = MemberIdentity.EnsureKeys(folder);
        var certificate = ClusterSetAuthority.Certify(setKey ?? _setKey, new MemberCertificate(id, identityKey, notAfter ?? DateTimeOffset.UtcNow.AddDays(1), [IPNetwork.Parse("10.244.0.0/16")]));
        File.WriteAllText(Path.Combine(folder, MemberIdentity.CertificateFile), Convert.ToBase64String(certificate));
        return MemberIdentity.Load(folder, [(setKey ?? _setKey).PublicKey.Export(KeyBlobFormat.RawPublicKey)]);
    }

    private static byte[] Sealed(MemberIdentity identity, ServiceMessageKind kind, DateTimeOffset at, byte[] payload)
    {
        var body = ServiceEnvelope.Body(kind, at, identity.SignedCertificate, payload);
        return ServiceEnvelope.Seal(body, identity.SignMessage(ServiceEnvelope.Context, body));
    }

    private static byte[] Announce(string cluster, ulong sequence, ClusterExport? export) =>
        ServiceAnnouncementCodec.Encode(export is null
            ? new ServiceAnnouncement(cluster, sequence, Web, Now, null, [])
            : new ServiceAnnouncement(cluster, sequence, export.Service, export.ExportCreated, export.Spec, export.Endpoints));

    [Fact]
    public void Body_IsPinned()
    {
        var body = ServiceEnvelope.Body(ServiceMessageKind.Announcement, DateTimeOffset.FromUnixTimeMilliseconds(0x0102030405), [0xAA, 0xBB], [0x01, 0x02, 0x03]);

        Assert.Equal("50534556" + "01" + "02" + "0000000102030405" + "0002" + "AABB" + "0003" + "010203", Convert.ToHexString(body));
    }

    [Fact]
    public void Open_ASealedMessage_GivesTheSignerFromItsCertificate()
    {
        using var aws = Member("aws");
        var payload = Announce("aws", 7, Export("aws", 1, endpoints: [Endpoint("10.244.1.2")]));

        var opened = ServiceEnvelope.TryOpen(Sealed(aws, ServiceMessageKind.Announcement, Now, payload), [SetPublicKey], Now, TimeSpan.FromSeconds(30), out var problem);

        Assert.NotNull(opened);
        Assert.Equal("", problem);
        Assert.Equal("aws", opened.MemberId);
        Assert.Equal(ServiceMessageKind.Announcement, opened.Kind);
        Assert.Equal(payload, opened.Payload);
    }

    [Fact]
    public void Open_RefusesEveryAlteredByte_AndOtherSets_AndOldMessages_NamingWhy()
    {
        using var aws = Member("aws");
        using var stranger = Member("aws", Key.Create(SignatureAlgorithm.Ed25519));
        using var expired = Member("gcp", notAfter: Now.AddSeconds(-1));
        var datagram = Sealed(aws, ServiceMessageKind.Heartbeat, Now, []);

        for (var i = 0; i < datagram.Length; i++)
        {
            var altered = datagram.ToArray();
            altered[i] ^= 0x20;
            Assert.Null(ServiceEnvelope.TryOpen(altered, [SetPublicKey], Now, TimeSpan.FromSeconds(30), out var problem));
            Assert.NotEqual("", problem);
        }
        Assert.Null(ServiceEnvelope.TryOpen(Sealed(stranger, ServiceMessageKind.Heartbeat, Now, []), [SetPublicKey], Now, TimeSpan.FromSeconds(30), out var foreign));
        Assert.Contains("not signed by a trusted cluster-set key", foreign);
        Assert.Null(ServiceEnvelope.TryOpen(Sealed(expired, ServiceMessageKind.Heartbeat, Now, []), [SetPublicKey], Now, TimeSpan.FromSeconds(30), out var old));
        Assert.Contains("expired", old);
        Assert.Null(ServiceEnvelope.TryOpen(datagram, [SetPublicKey], Now.AddMinutes(1), TimeSpan.FromSeconds(30), out var stale));
        Assert.Contains("more than 30 s from this clock", stale);
        Assert.Null(ServiceEnvelope.TryOpen(datagram[..20], [SetPublicKey], Now, TimeSpan.FromSeconds(30), out var cut));
        Assert.Contains("not a service message", cut);
    }

    [Fact]
    public void SignMessage_RefusesTheMeshsOwnContexts()
    {
        using var aws = Member("aws");

        Assert.Throws<ArgumentException>(() => aws.SignMessage(AnnouncementCodec.AnnouncementContext, [1]));
    }

    private static OpenedServiceMessage Heard(string cluster, ServiceMessageKind kind, DateTimeOffset at, byte[]? payload = null) => new(cluster, kind, at, payload ?? []);

    [Fact]
    public void Accept_KeepsTheNewestExport_AndRefusesOlderSequences_AndAnotherClustersName()
    {
        var remote = new RemoteExports(_options, "onprem");
        var first = Export("aws", 1, endpoints: [Endpoint("10.244.1.2")]);
        var second = Export("aws", 1, endpoints: [Endpoint("10.244.1.2"), Endpoint("10.244.1.3")]);

        Assert.True(remote.Accept(Heard("aws", ServiceMessageKind.Announcement, Now, Announce("aws", 2, second)), Now, out _));
        Assert.False(remote.Accept(Heard("aws", ServiceMessageKind.Announcement, Now, Announce("aws", 1, first)), Now, out var older));
        Assert.Contains("below the last accepted, 2", older);
        Assert.False(remote.Accept(Heard("gcp", ServiceMessageKind.Announcement, Now, Announce("aws", 9, first)), Now, out var impostor));
        Assert.Contains("'gcp' signed an announcement for cluster 'aws'", impostor);
        Assert.Equal(2, Assert.Single(remote.Exports()).Endpoints.Count);

        Assert.True(remote.Accept(Heard("aws", ServiceMessageKind.Announcement, Now, Announce("aws", 3, null)), Now, out _));
        Assert.Empty(remote.Exports());
    }

    [Fact]
    public void Sweep_WithdrawsASilentCluster_ThenForgetsIt_AndItsExportsReturnWithIt()
    {
        var remote = new RemoteExports(_options, "onprem");
        var export = Export("aws", 1, endpoints: [Endpoint("10.244.1.2")]);
        remote.Accept(Heard("aws", ServiceMessageKind.Announcement, Now, Announce("aws", 5, export)), Now, out _);
        Assert.True(remote.IsAlive("aws"));

        Assert.False(remote.Sweep(Now + _options.DeadAfter - TimeSpan.FromMilliseconds(1)));
        Assert.True(remote.Sweep(Now + _options.DeadAfter));
        Assert.False(remote.IsAlive("aws"));
        Assert.Single(remote.Exports());

        // Back after longer than the export expiry: its export is not dropped before its next refresh could come.
        var back = Now + _options.ExportExpiry * 2;
        Assert.True(remote.Accept(Heard("aws", ServiceMessageKind.Heartbeat, back), back, out _));
        Assert.False(remote.Sweep(back + TimeSpan.FromMilliseconds(50)));
        Assert.True(remote.IsAlive("aws"));
        Assert.Single(remote.Exports());

        Assert.True(remote.Sweep(back + _options.ForgetAfter));
        Assert.Empty(remote.Exports());
        Assert.False(remote.IsAlive("aws"));
    }

    [Fact]
    public void Accept_TakesBackTheSendersCurrentExport_AfterExpiryDroppedIt()
    {
        var remote = new RemoteExports(_options, "onprem");
        var export = Export("aws", 1, endpoints: [Endpoint("10.244.1.2")]);
        remote.Accept(Heard("aws", ServiceMessageKind.Announcement, Now, Announce("aws", 5, export)), Now, out _);
        var later = Now + _options.ExportExpiry;
        remote.Accept(Heard("aws", ServiceMessageKind.Heartbeat, later), later, out _);
        Assert.True(remote.Sweep(later));
        Assert.Empty(remote.Exports());

        Assert.True(remote.Accept(Heard("aws", ServiceMessageKind.Announcement, later, Announce("aws", 5, export)), later, out var problem));
        Assert.Null(problem);
        Assert.Single(remote.Exports());
    }

    [Fact]
    public void Heartbeats_MustGrow_SoAReplayKeepsNoDeadClusterAlive()
    {
        var remote = new RemoteExports(_options, "onprem");
        remote.Accept(Heard("aws", ServiceMessageKind.Heartbeat, Now), Now, out _);
        remote.Sweep(Now + _options.DeadAfter);

        Assert.False(remote.Accept(Heard("aws", ServiceMessageKind.Heartbeat, Now), Now + _options.DeadAfter, out var replay));
        Assert.Contains("not newer than the last", replay);
        Assert.False(remote.IsAlive("aws"));
    }

    [Fact]
    public void OwnMessages_AreIgnored()
    {
        var remote = new RemoteExports(_options, "onprem");

        Assert.False(remote.Accept(Heard("onprem", ServiceMessageKind.Heartbeat, Now), Now, out _));
        Assert.Empty(remote.Clusters());
    }

    public void Dispose()
    {
        _setKey.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
