using Patronus.Policy.Model;
using static Patronus.Policy.Tests.Support.Build;

namespace Patronus.Policy.Tests;

public class LabelSelectorTests
{
    [Theory]
    [InlineData(SelectorOperator.In, "app=web", new[] { "web", "api" }, true)]
    [InlineData(SelectorOperator.In, "app=db", new[] { "web", "api" }, false)]
    [InlineData(SelectorOperator.In, "", new[] { "web" }, false)]
    [InlineData(SelectorOperator.NotIn, "app=web", new[] { "web" }, false)]
    [InlineData(SelectorOperator.NotIn, "app=db", new[] { "web" }, true)]
    [InlineData(SelectorOperator.NotIn, "", new[] { "web" }, true)]
    [InlineData(SelectorOperator.Exists, "app=x", new string[0], true)]
    [InlineData(SelectorOperator.Exists, "", new string[0], false)]
    [InlineData(SelectorOperator.DoesNotExist, "app=x", new string[0], false)]
    [InlineData(SelectorOperator.DoesNotExist, "", new string[0], true)]
    public void Requirement_FollowsApimachinerySemantics(SelectorOperator op, string label, string[] values, bool expected)
    {
        var labels = label.Length == 0 ? Labels("other=1") : Labels(label, "other=1");
        Assert.Equal(expected, Expr("app", op, values).Matches(labels));
    }

    [Theory]
    [InlineData(new string[0], "", true)]
    [InlineData(new[] { "a=1" }, "a=1", true)]
    [InlineData(new[] { "a=1" }, "a=2", false)]
    [InlineData(new[] { "a=1", "b=2" }, "a=1", false)]
    [InlineData(new[] { "a=1" }, "", false)]
    public void MatchLabels_AllPairsMustHold(string[] selector, string label, bool expected)
    {
        var labels = label.Length == 0 ? Labels() : Labels(label);
        Assert.Equal(expected, Select(selector).Matches(labels));
    }

    [Fact]
    public void LabelsAndExpressions_AreAnded()
    {
        var selector = new LabelSelector(Labels("tier=web"), [new LabelRequirement("env", SelectorOperator.In, ["prod"])]);
        Assert.True(selector.Matches(Labels("tier=web", "env=prod")));
        Assert.False(selector.Matches(Labels("tier=web", "env=dev")));
        Assert.False(selector.Matches(Labels("tier=db", "env=prod")));
    }
}
