using Patronus.Kubernetes.Informers.ManifestFolder;

namespace Patronus.Kubernetes.Tests.Informers;

public class ManifestDocumentsTests
{
    [Theory]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: { name: a }\n", "Pod/a")]
    [InlineData("---\napiVersion: v1\nkind: Pod\nmetadata: { name: a }\n---\n# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata: { name: s }\n", "Pod/a,Service/s")]
    [InlineData("apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\n---\napiVersion: example.io/v1\nkind: Widget\nmetadata: { name: w }\n", "")]
    [InlineData("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"podSelector\":{}}}", "NetworkPolicy/p")]
    [InlineData("apiVersion: v1\nkind: Node\nmetadata: { name: n1 }\n--- # trailing comment\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: e }\naddressType: IPv4\nendpoints: []\n", "Node/n1,EndpointSlice/e")]
    [InlineData("", "")]
    public void Parse_KeepsTheWatchedKindsInOrder(string text, string expected)
    {
        var objects = ManifestDocuments.Parse(text, "test.yaml");

        Assert.Equal(expected, string.Join(",", objects.Select(o => $"{o.Kind}/{o.Metadata.Name}")));
    }

    [Theory]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: { labels: { a: b } }\n", "test.yaml:1: Pod has no metadata.name")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: { name: a }\n---\napiVersion: v1\nkind: Pod\nmetadata: [oops\n", "test.yaml:8: not valid YAML")]
    [InlineData("{\"kind\": \"Pod\", ", "test.yaml: not valid JSON")]
    public void Parse_BadDocument_NamesTheFileAndLine(string text, string expected)
    {
        var error = Assert.Throws<ManifestException>(() => ManifestDocuments.Parse(text, "test.yaml"));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Parse_AListAsKubectlPrintsIt_YieldsItsItemsWithTheirKinds()
    {
        const string text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: { name: x }\n" +
            "- apiVersion: v1\n  kind: Pod\n  metadata: { name: a, namespace: x }\n";

        var objects = ManifestDocuments.Parse(text, "test.yaml");

        Assert.Equal("Namespace/x,Pod/a", string.Join(",", objects.Select(o => $"{o.Kind}/{o.Metadata.Name}")));
    }
}
