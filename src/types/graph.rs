//! Recursion between definitions: direct self-containment is boxed; recursion a decoder
//! could follow without reading input (a union that is its own variant, a type alias of
//! itself) is refused, so generated decoders never loop or overflow on any payload.

use super::{FastMap, Kind, Ty, TypeDef, TypeSpace, UnionStyle};
use crate::error::Result;
use crate::load::{NodeId, Source};

pub(super) fn check_and_box(source: &Source, space: &mut TypeSpace) -> Result<()> {
    // Vertices are the definitions in key order; `ids[i]`/`defs[i]` is definition i.
    let (ids, defs): (Vec<&NodeId>, Vec<&TypeDef>) = space.defs.iter().unzip();
    // Looked up, never iterated: a hash map keeps the result deterministic.
    let index: FastMap<&NodeId, usize> = ids.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let lookup = |out: &[&NodeId]| -> Vec<usize> { out.iter().filter_map(|n| index.get(n).copied()).collect() };

    // 1. Edges a decoder follows without consuming input: union → variant, alias → target.
    let free: Vec<Vec<usize>> = defs
        .iter()
        .map(|def| {
            let mut out = Vec::new();
            match &def.kind {
                Kind::Union(u) if u.style != UnionStyle::Raw => u.members.iter().for_each(|m| direct(&m.ty, &mut out)),
                Kind::Alias(t) => direct(t, &mut out),
                _ => {}
            }
            lookup(&out)
        })
        .collect();
    let scc = tarjan(&free);
    for (i, id) in ids.iter().enumerate() {
        if free[i].iter().any(|&j| scc[j] == scc[i]) {
            let message = match defs[i].kind {
                Kind::Union(_) => {
                    "this union is (through its variants) a variant of itself: decoding it could recurse forever"
                }
                _ => "recursive schema that is not an object cannot be represented",
            };
            return Err(source
                .error(id, message)
                .hint("wrap the recursion in an object property, e.g. `{type: object, properties: {children: {type: array, items: {$ref: ...}}}}`"));
        }
    }

    // 2. Alias cycles through containers (`type T = Vec<T>` is not valid Rust).
    let alias_edges: Vec<Vec<usize>> = defs
        .iter()
        .map(|def| {
            let mut out = Vec::new();
            if let Kind::Alias(t) = &def.kind {
                t.each_named(&mut |n| out.push(n));
            }
            lookup(&out)
        })
        .collect();
    let alias_only: Vec<Vec<usize>> = alias_edges
        .iter()
        .map(|e| e.iter().copied().filter(|&j| matches!(defs[j].kind, Kind::Alias(_))).collect())
        .collect();
    let alias_scc = tarjan(&alias_only);
    for (i, id) in ids.iter().enumerate() {
        if alias_only[i].iter().any(|&j| alias_scc[j] == alias_scc[i]) {
            return Err(source
                .error(id, "recursive schema that is not an object cannot be represented")
                .hint("wrap the recursion in an object property, e.g. `{type: object, properties: {children: {type: array, items: {$ref: ...}}}}`"));
        }
    }
    let all_edges: Vec<Vec<usize>> = defs
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let mut out = Vec::new();
            match &def.kind {
                Kind::Struct { fields, .. } => fields.iter().for_each(|f| direct(&f.ty, &mut out)),
                Kind::Union(u) if u.style != UnionStyle::Raw => u.members.iter().for_each(|m| direct(&m.ty, &mut out)),
                _ => {}
            }
            let mut e = lookup(&out);
            e.extend(&alias_edges[i]);
            e
        })
        .collect();
    let scc = tarjan(&all_edges);

    // 3. Box direct self-containment (`Option<Category>` inside `Category`): only a definition
    // with an edge inside its own component can contain itself.
    // (definition, the definitions of its component it names)
    let boxing: Vec<(NodeId, Vec<NodeId>)> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let same: Vec<NodeId> =
                all_edges[i].iter().filter(|&&j| scc[j] == scc[i]).map(|&j| ids[j].clone()).collect();
            (!same.is_empty()).then(|| ((*id).clone(), same))
        })
        .collect();
    for (id, targets) in boxing {
        let same = |t: &Ty| matches!(t, Ty::Named(n) if targets.contains(n));
        let def = space.defs.get_mut(&id).expect("id from defs");
        match &mut def.kind {
            Kind::Struct { fields, .. } => fields.iter_mut().for_each(|f| box_if(&mut f.ty, &same)),
            Kind::Union(u) if u.style != UnionStyle::Raw => u.members.iter_mut().for_each(|m| box_if(&mut m.ty, &same)),
            _ => {}
        }
    }
    Ok(())
}

/// Definitions held directly (not behind a Vec/Map, which already allocate).
fn direct<'t>(ty: &'t Ty, out: &mut Vec<&'t NodeId>) {
    match ty {
        Ty::Named(n) => out.push(n),
        Ty::Option(t) | Ty::Boxed(t) => direct(t, out),
        Ty::Tuple(ts) => ts.iter().for_each(|t| direct(t, out)),
        _ => {}
    }
}

fn box_if(ty: &mut Ty, same: &dyn Fn(&Ty) -> bool) {
    match ty {
        Ty::Option(inner) => box_if(inner, same),
        Ty::Tuple(ts) => ts.iter_mut().for_each(|t| box_if(t, same)),
        t if same(t) => *t = Ty::Boxed(Box::new(t.clone())),
        _ => {}
    }
}

/// Strongly connected components (Tarjan, iterative so long chains cannot overflow the stack);
/// returns the component of each vertex.
pub(crate) fn tarjan(edges: &[Vec<usize>]) -> Vec<usize> {
    let n = edges.len();
    let mut index: Vec<Option<usize>> = vec![None; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comp = vec![0; n];
    let (mut next, mut comps) = (0, 0);
    // (vertex, next edge to look at)
    let mut work: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root].is_some() {
            continue;
        }
        work.push((root, 0));
        while let Some(&mut (v, ref mut e)) = work.last_mut() {
            if *e == 0 && index[v].is_none() {
                index[v] = Some(next);
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*e) {
                *e += 1;
                match index[w] {
                    None => work.push((w, 0)),
                    Some(iw) if on_stack[w] => low[v] = low[v].min(iw),
                    _ => {}
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if Some(low[v]) == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = comps;
                    if w == v {
                        break;
                    }
                }
                comps += 1;
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::tarjan;

    #[test]
    fn components_of_cycles_and_chains() {
        let c = tarjan(&[vec![1], vec![2], vec![0], vec![0], vec![]]);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
        assert_ne!(c[3], c[0]);
        assert_ne!(c[4], c[0]);
        // A long chain does not overflow the stack.
        let chain: Vec<Vec<usize>> = (0..200_000).map(|i| if i + 1 < 200_000 { vec![i + 1] } else { vec![] }).collect();
        let c = tarjan(&chain);
        assert_eq!(c.iter().collect::<std::collections::BTreeSet<_>>().len(), 200_000);
    }
}
