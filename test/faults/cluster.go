package faults

import (
	"github.com/tradeledger/tradeledger/ledgernode/proccluster"
)

// Cluster is a process cluster (proccluster) of the suite's shape: node i
// on its own address 127.0.0.(10+i), dialling its peers from there, behind
// two fault-injecting proxies (Raft and API) that its peers dial instead of
// the node; each node has a settable clock and its own process group.
type Cluster struct {
	*proccluster.Cluster
	links []links // node i's proxies
}

// links are the proxies in front of one node.
type links struct{ raft, api *Proxy }

// NewCluster prepares voters genesis nodes and spares extra nodes (not
// started), each node with flags.
func NewCluster(dir, bin string, voters, spares int, flags []string) (*Cluster, error) {
	c := &Cluster{}
	pc, err := proccluster.New(proccluster.Options{Dir: dir, Bin: bin, Network: "faultnet", Voters: voters, Spares: spares, Flags: flags,
		OwnAddresses: true, FaultClock: true, Setpgid: true,
		Front: func(p *proccluster.Proc) (string, string, error) {
			raft, err := NewProxy(p.IP+":0", p.RaftBind)
			if err != nil {
				return "", "", err
			}
			api, err := NewProxy(p.IP+":0", p.APIBind)
			if err != nil {
				raft.Close()
				return "", "", err
			}
			c.links = append(c.links, links{raft: raft, api: api})
			return raft.Addr(), api.Addr(), nil
		}})
	if err != nil {
		c.closeLinks()
		return nil, err
	}
	c.Cluster = pc
	return c, nil
}

// Partition cuts every link between nodes of different sides (Raft and API,
// both directions). Nodes not named keep all their links.
func (c *Cluster) Partition(sides ...[]int) {
	c.Logf("partition %v", sides)
	for a, sa := range sides {
		for b, sb := range sides {
			if a == b {
				continue
			}
			for _, i := range sa {
				for _, j := range sb {
					c.links[j].raft.Block(c.Procs[i].IP)
					c.links[j].api.Block(c.Procs[i].IP)
				}
			}
		}
	}
}

// Heal removes every partition.
func (c *Cluster) Heal() {
	c.Logf("heal")
	for _, l := range c.links {
		l.raft.Heal()
		l.api.Heal()
	}
}

// Close kills every process and stops the proxies.
func (c *Cluster) Close() {
	c.Cluster.Close()
	c.closeLinks()
}

func (c *Cluster) closeLinks() {
	for _, l := range c.links {
		l.raft.Close()
		l.api.Close()
	}
	c.links = nil
}
