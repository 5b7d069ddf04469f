/// A value a template refers to.
public enum TemplateValue: Sendable {
    case text(String)
    /// Repeats a section once per item, with the item's names added to the context.
    case list([[String: TemplateValue]])
    /// Includes a section when true (`{{#name}}`), or when false (`{{^name}}`).
    case flag(Bool)
}

/// A minimal renderer for the files in `templates/`: `{{name}}` inserts text, `{{#name}}…{{/name}}`
/// repeats over a list or includes on a true flag, `{{^name}}…{{/name}}` includes on a false flag or
/// an empty list. A name the context lacks is an error, so a typo cannot produce a broken header.
public enum Template {
    public static func render(_ template: String, _ context: [String: TemplateValue]) throws(QuantError) -> String {
        var output = ""
        try render(Substring(template), context, into: &output)
        return output
    }

    private static func render(_ text: Substring, _ context: [String: TemplateValue], into output: inout String) throws(QuantError) {
        var rest = text
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw .invalidSpec(path: "template", reason: "unclosed {{")
            }
            let tag = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            rest = rest[close.upperBound...]
            guard let sigil = tag.first else { throw .invalidSpec(path: "template", reason: "empty tag") }
            if sigil == "#" || sigil == "^" {
                let name = String(tag.dropFirst())
                guard let end = rest.range(of: "{{/\(name)}}") else {
                    throw .invalidSpec(path: "template", reason: "section \(name) is not closed")
                }
                var body = rest[..<end.lowerBound]
                rest = rest[end.upperBound...]
                if body.hasPrefix("\n") { body = body.dropFirst() }  // a section tag on its own line adds no line
                if rest.hasPrefix("\n") { rest = rest.dropFirst() }
                guard let value = context[name] else { throw .invalidSpec(path: "template", reason: "unknown section \(name)") }
                switch (sigil, value) {
                case let ("#", .list(items)):
                    for item in items { try render(body, context.merging(item) { $1 }, into: &output) }
                case let ("#", .flag(on)):
                    if on { try render(body, context, into: &output) }
                case let ("^", .list(items)):
                    if items.isEmpty { try render(body, context, into: &output) }
                case let ("^", .flag(on)):
                    if !on { try render(body, context, into: &output) }
                default:
                    throw .invalidSpec(path: "template", reason: "\(name) is text, not a section")
                }
            } else {
                guard case let .text(value)? = context[tag] else {
                    throw .invalidSpec(path: "template", reason: "unknown or non-text name \(tag)")
                }
                output += value
            }
        }
        output += rest
    }
}
