using k8s;
using k8s.Models;
using Patronus.Agent.Services;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Services;

/// <summary>deploy/mcs/rbac.yaml grants the import writer exactly what it writes, and its Lease by name.</summary>
public sealed class McsRbacTests
{
    private static async Task<List<object>> Load() =>
        await KubernetesYaml.LoadAllFromFileAsync(Path.Combine(Checkout.PathOf("deploy"), "mcs", "rbac.yaml"), strict: true);

    [Fact]
    public async Task Writer_MayWriteServiceImportsAndEndpointSlices_AndNothingElse()
    {
        var role = Assert.Single((await Load()).OfType<V1ClusterRole>());

        var grants = role.Rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.Select(res => $"{g}/{res}: {string.Join(",", r.Verbs.Order())}"))).Order();
        Assert.Equal(["discovery.k8s.io/endpointslices: create,delete,update", "multicluster.x-k8s.io/serviceimports: create,delete,update"], grants);
    }

    [Fact]
    public async Task Lease_IsGrantedByName_InTheNamespaceTheAgentUses()
    {
        var objects = await Load();
        var role = Assert.Single(objects.OfType<V1Role>());
        var options = new ServicesOptions();

        Assert.Equal(options.LeaseNamespace, role.Metadata.NamespaceProperty);
        var named = Assert.Single(role.Rules, r => r.ResourceNames is not null);
        Assert.Equal([options.LeaseName], named.ResourceNames);
        Assert.Equal(["get", "update"], named.Verbs.Order());
        Assert.Equal(["create"], Assert.Single(role.Rules, r => r.ResourceNames is null).Verbs);
        Assert.Equal(role.Metadata.Name, Assert.Single(objects.OfType<V1RoleBinding>()).RoleRef.Name);
    }
}
