using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace ConsulOperator.Api.Schema;

/// <summary>The XML doc summaries of an assembly, which become the CRD field descriptions.</summary>
internal sealed partial class XmlDocumentation
{
    private readonly Dictionary<string, string> summaries;

    private XmlDocumentation(Dictionary<string, string> summaries) => this.summaries = summaries;

    public static XmlDocumentation For(Assembly assembly)
    {
        var path = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the XML documentation of {assembly.GetName().Name} is missing; it is built with GenerateDocumentationFile", path);
        }

        var summaries = XDocument.Load(path).Descendants("member")
            .Where(m => m.Element("summary") is not null)
            .ToDictionary(m => (string)m.Attribute("name")!, m => Clean(m.Element("summary")!));
        return new XmlDocumentation(summaries);
    }

    public string? Of(Type type) => summaries.GetValueOrDefault($"T:{type.FullName}");

    public string? Of(PropertyInfo property) => summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName}.{property.Name}");

    private static string Clean(XElement summary)
    {
        var text = string.Concat(summary.Nodes().Select(n => n is XElement e ? (string?)e.Attribute("cref")?.Value.Split('.')[^1] ?? e.Value : n.ToString()));
        return Whitespace().Replace(System.Net.WebUtility.HtmlDecode(text), " ").Trim();
    }

    [GeneratedRegex("\\s+")]
    private static partial Regex Whitespace();
}
