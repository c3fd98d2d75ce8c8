"""Fast calorimeter simulation (numpy, vectorised): geometry (:mod:`.geometry`, :mod:`.cells`), the
path to the calorimeter (:mod:`.propagation`), GFlash-style shower parametrisations (:mod:`.showers`)
turned into deposits on layers (:mod:`.deposits`), digitisation (:mod:`.digitise`) and the simulator
that a detector config builds (:class:`.simulate.CaloSimulator`)."""
