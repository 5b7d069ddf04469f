/// The external functions a relocatable object needs: the global and weak symbols of its ELF
/// symbol table that it leaves undefined. `LLJIT.add(object:)` links an object only when each of
/// them is one the JIT may resolve (`LLJIT.processSymbols`); from LLVM 17 on LLJIT also searches the
/// whole process by default (its "<Process Symbols>" library, which the C API cannot turn off), so
/// this check is what keeps JIT-linked code to the allowed functions.
public enum ObjectSymbols {
    /// The undefined global symbols of a 64-bit little-endian ELF object, or a description of why
    /// the bytes are not one (every offset is checked against the buffer).
    public static func undefined(in object: [UInt8]) -> Result<[String], ObjectSymbolsError> {
        func fail(_ reason: String) -> Result<[String], ObjectSymbolsError> { .failure(ObjectSymbolsError(reason: reason)) }
        func read(_ offset: Int, _ size: Int) -> UInt64? {
            guard offset >= 0, size <= 8, offset <= object.count - size else { return nil }
            var value: UInt64 = 0
            for i in (0..<size).reversed() { value = value << 8 | UInt64(object[offset + i]) }
            return value
        }
        guard object.count >= 64, object[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]), object[4] == 2, object[5] == 1 else {
            return fail("not a 64-bit little-endian ELF file")
        }
        guard let tableOffset = read(0x28, 8), let entrySize = read(0x3A, 2), let count = read(0x3C, 2), entrySize == 64,
              tableOffset <= UInt64(object.count), count * 64 <= UInt64(object.count) - tableOffset
        else { return fail("damaged ELF header") }
        let sectionTable = Int(tableOffset)
        func section(_ index: Int) -> (type: UInt64, offset: Int, size: Int, link: Int, entrySize: UInt64)? {
            let base = sectionTable + index * 64
            guard let type = read(base + 4, 4), let offset = read(base + 24, 8), let size = read(base + 32, 8),
                  let link = read(base + 40, 4), let entry = read(base + 56, 8),
                  offset <= UInt64(object.count), size <= UInt64(object.count) - offset
            else { return nil }
            return (type, Int(offset), Int(size), Int(link), entry)
        }
        var names: [String] = []
        for index in 0..<Int(count) {
            guard let table = section(index) else { return fail("damaged section header \(index)") }
            guard table.type == 2 else { continue }  // SHT_SYMTAB
            guard table.entrySize == 24, table.link < Int(count), let strings = section(table.link) else {
                return fail("damaged symbol table")
            }
            for symbol in stride(from: table.offset + 24, to: table.offset + table.size - 23, by: 24) {
                guard let nameOffset = read(symbol, 4), let info = read(symbol + 4, 1), let sectionIndex = read(symbol + 6, 2) else {
                    return fail("damaged symbol")
                }
                let binding = info >> 4  // 1 global, 2 weak
                guard sectionIndex == 0, binding == 1 || binding == 2 else { continue }
                let start = strings.offset + Int(nameOffset)
                guard nameOffset < UInt64(strings.size), let end = object[start..<(strings.offset + strings.size)].firstIndex(of: 0) else {
                    return fail("damaged symbol name")
                }
                names.append(String(decoding: object[start..<end], as: UTF8.self))
            }
        }
        return .success(names)
    }
}

/// Why bytes given as an object could not be read as one.
public struct ObjectSymbolsError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
