namespace ConsulOperator.Api;

/// <summary>A CEL rule the API server enforces (<c>x-kubernetes-validations</c>); the operator's validator checks the same rule in C#.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Class, AllowMultiple = true)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;
    public string Message { get; } = message;
}

/// <summary>The field cannot change once the object exists (a CEL transition rule).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ImmutableAttribute : Attribute;

/// <summary>The field holds free-form JSON (<c>x-kubernetes-preserve-unknown-fields</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PreserveUnknownFieldsAttribute : Attribute;

/// <summary>An OpenAPI string format (<c>ipv4</c>, <c>date-time</c>, ...).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FormatAttribute(string format) : Attribute
{
    public string Format { get; } = format;
}

/// <summary>
/// At most this many characters in a string, or items in a list (<c>maxLength</c>, <c>maxItems</c>). Ours rather than
/// DataAnnotations' MaxLength, whose constructor is marked as unsafe to trim (it reads Count by reflection when it
/// validates, which nothing here asks it to do).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AtMostAttribute(int length) : Attribute
{
    public int Length { get; } = length;
}
