package wire

import (
	"errors"
	"fmt"
)

// Harmonized System codes. The ledger checks their shape, not their
// existence in a national tariff: a code is 2 (chapter), 4 (heading) or 6
// (subheading) digits, and its chapter is 01-97 without the reserved 77.
// Shipment lines may carry national tariff lines of 8 or 10 digits whose
// first six digits are the HS subheading.

// hsChapters names the 96 chapters of the Harmonized System (HS 2022),
// shortened. Chapter 77 is reserved.
var hsChapters = map[string]string{
	"01": "Live animals",
	"02": "Meat and edible meat offal",
	"03": "Fish and crustaceans, molluscs and other aquatic invertebrates",
	"04": "Dairy produce; birds' eggs; natural honey; edible animal products n.e.s.",
	"05": "Products of animal origin n.e.s.",
	"06": "Live trees and other plants; bulbs, roots; cut flowers",
	"07": "Edible vegetables and certain roots and tubers",
	"08": "Edible fruit and nuts; peel of citrus fruit or melons",
	"09": "Coffee, tea, mate and spices",
	"10": "Cereals",
	"11": "Products of the milling industry; malt; starches; inulin; wheat gluten",
	"12": "Oil seeds and oleaginous fruits; industrial or medicinal plants; straw and fodder",
	"13": "Lac; gums, resins and other vegetable saps and extracts",
	"14": "Vegetable plaiting materials; vegetable products n.e.s.",
	"15": "Animal, vegetable or microbial fats and oils; prepared edible fats; waxes",
	"16": "Preparations of meat, fish, crustaceans, molluscs or insects",
	"17": "Sugars and sugar confectionery",
	"18": "Cocoa and cocoa preparations",
	"19": "Preparations of cereals, flour, starch or milk; pastrycooks' products",
	"20": "Preparations of vegetables, fruit, nuts or other parts of plants",
	"21": "Miscellaneous edible preparations",
	"22": "Beverages, spirits and vinegar",
	"23": "Residues and waste from the food industries; prepared animal fodder",
	"24": "Tobacco and manufactured tobacco substitutes",
	"25": "Salt; sulphur; earths and stone; plastering materials, lime and cement",
	"26": "Ores, slag and ash",
	"27": "Mineral fuels, mineral oils and products of their distillation",
	"28": "Inorganic chemicals; compounds of precious metals, rare-earth metals and radioactive elements",
	"29": "Organic chemicals",
	"30": "Pharmaceutical products",
	"31": "Fertilisers",
	"32": "Tanning or dyeing extracts; dyes, pigments, paints and varnishes; inks",
	"33": "Essential oils and resinoids; perfumery, cosmetic or toilet preparations",
	"34": "Soap, washing and lubricating preparations, waxes, candles, modelling pastes",
	"35": "Albuminoidal substances; modified starches; glues; enzymes",
	"36": "Explosives; pyrotechnic products; matches; pyrophoric alloys",
	"37": "Photographic or cinematographic goods",
	"38": "Miscellaneous chemical products",
	"39": "Plastics and articles thereof",
	"40": "Rubber and articles thereof",
	"41": "Raw hides and skins (other than furskins) and leather",
	"42": "Articles of leather; saddlery and harness; travel goods, handbags",
	"43": "Furskins and artificial fur; manufactures thereof",
	"44": "Wood and articles of wood; wood charcoal",
	"45": "Cork and articles of cork",
	"46": "Manufactures of straw or other plaiting materials; basketware",
	"47": "Pulp of wood or other fibrous cellulosic material; recovered paper",
	"48": "Paper and paperboard; articles of paper pulp, paper or paperboard",
	"49": "Printed books, newspapers, pictures and other printed products",
	"50": "Silk",
	"51": "Wool, fine or coarse animal hair; horsehair yarn and woven fabric",
	"52": "Cotton",
	"53": "Other vegetable textile fibres; paper yarn",
	"54": "Man-made filaments",
	"55": "Man-made staple fibres",
	"56": "Wadding, felt and nonwovens; special yarns; twine, cordage, ropes",
	"57": "Carpets and other textile floor coverings",
	"58": "Special woven fabrics; tufted fabrics; lace; tapestries; trimmings; embroidery",
	"59": "Impregnated, coated, covered or laminated textile fabrics",
	"60": "Knitted or crocheted fabrics",
	"61": "Articles of apparel and clothing accessories, knitted or crocheted",
	"62": "Articles of apparel and clothing accessories, not knitted or crocheted",
	"63": "Other made up textile articles; sets; worn clothing; rags",
	"64": "Footwear, gaiters and the like",
	"65": "Headgear and parts thereof",
	"66": "Umbrellas, walking-sticks, seat-sticks, whips, riding-crops",
	"67": "Prepared feathers and down; artificial flowers; articles of human hair",
	"68": "Articles of stone, plaster, cement, asbestos, mica or similar materials",
	"69": "Ceramic products",
	"70": "Glass and glassware",
	"71": "Pearls, precious stones, precious metals; imitation jewellery; coin",
	"72": "Iron and steel",
	"73": "Articles of iron or steel",
	"74": "Copper and articles thereof",
	"75": "Nickel and articles thereof",
	"76": "Aluminium and articles thereof",
	"78": "Lead and articles thereof",
	"79": "Zinc and articles thereof",
	"80": "Tin and articles thereof",
	"81": "Other base metals; cermets; articles thereof",
	"82": "Tools, implements, cutlery, spoons and forks, of base metal",
	"83": "Miscellaneous articles of base metal",
	"84": "Nuclear reactors, boilers, machinery and mechanical appliances",
	"85": "Electrical machinery and equipment; sound and television apparatus",
	"86": "Railway or tramway locomotives, rolling stock and parts",
	"87": "Vehicles other than railway or tramway rolling stock",
	"88": "Aircraft, spacecraft, and parts thereof",
	"89": "Ships, boats and floating structures",
	"90": "Optical, photographic, measuring, precision, medical or surgical instruments",
	"91": "Clocks and watches and parts thereof",
	"92": "Musical instruments",
	"93": "Arms and ammunition",
	"94": "Furniture; bedding; lamps and lighting fittings; prefabricated buildings",
	"95": "Toys, games and sports requisites",
	"96": "Miscellaneous manufactured articles",
	"97": "Works of art, collectors' pieces and antiques",
}

// hsHeadings is a small table of headings used by the tests and the demo.
var hsHeadings = map[string]string{
	"0306": "Crustaceans",
	"0803": "Bananas, including plantains, fresh or dried",
	"0901": "Coffee",
	"1604": "Prepared or preserved fish; caviar",
	"2204": "Wine of fresh grapes",
	"6109": "T-shirts, singlets and other vests, knitted or crocheted",
	"6203": "Men's or boys' suits, jackets, trousers, not knitted",
	"6403": "Footwear with outer soles of rubber, plastics or leather and uppers of leather",
	"7214": "Other bars and rods of iron or non-alloy steel",
	"8471": "Automatic data-processing machines and units thereof",
	"8517": "Telephone sets; other apparatus for voice, images or data",
	"8703": "Motor cars and other motor vehicles principally designed to transport persons",
	"8708": "Parts and accessories of motor vehicles",
	"9018": "Instruments and appliances used in medical, surgical or dental sciences",
}

// hsExamples is a real HS 2022 subheading under each heading of hsHeadings:
// what an error message suggests when a certificate gives only a heading
// (never the heading padded with zeros, which is rarely a subheading).
var hsExamples = map[string]string{
	"0306": "030617", // other frozen shrimps and prawns
	"0803": "080390", // bananas, other than plantains
	"0901": "090111", // coffee, not roasted, not decaffeinated
	"1604": "160414", // tunas, skipjack and bonito, whole or in pieces
	"2204": "220421", // wine in containers of 2 l or less
	"6109": "610910", // T-shirts of cotton
	"6203": "620342", // men's trousers of cotton
	"6403": "640399", // other footwear with leather uppers
	"7214": "721420", // bars and rods with indentations (rebar)
	"8471": "847130", // portable data-processing machines
	"8517": "851762", // machines for receiving and transmitting data
	"8703": "870323", // cars, spark ignition, 1,500-3,000 cc
	"8708": "870899", // other parts of motor vehicles
	"9018": "901890", // other medical instruments
}

// SubheadingHint says how to give a six-digit subheading for a shorter
// code: a real subheading under the code's heading when the table knows
// one, otherwise a real example from another heading, said to be one.
func SubheadingHint(code string) string {
	if len(code) == 4 {
		if ex, ok := hsExamples[code]; ok {
			return fmt.Sprintf("the six-digit HS subheading under heading %s (%s), e.g. %s", code, hsHeadings[code], ex)
		}
		return fmt.Sprintf("the six-digit HS subheading under heading %s from the tariff schedule (an example from another heading: 847130, portable computers)", code)
	}
	return "the six-digit HS subheading from the tariff schedule (for example 847130, portable computers, under heading 8471)"
}

// CheckHSCode checks the shape of an HS chapter, heading or subheading (2, 4
// or 6 digits, chapter 01-97, not 77). The error says what is wrong.
func CheckHSCode(code string) error {
	return checkHS(code, "must be 2, 4 or 6 digits (an HS chapter, heading or subheading such as 84, 8471 or 847130)", 2, 4, 6)
}

// CheckTariffLine checks a goods line code: an HS subheading (6 digits) or a
// national tariff line (8 or 10 digits) that starts with one.
func CheckTariffLine(code string) error {
	return checkHS(code, "must be 6, 8 or 10 digits (an HS subheading such as 847130, or a national tariff line that starts with one)", 6, 8, 10)
}

func checkHS(code, shape string, lengths ...int) error {
	okLen := false
	for _, n := range lengths {
		okLen = okLen || len(code) == n
	}
	digits := len(code) > 0
	for i := 0; i < len(code); i++ {
		digits = digits && code[i] >= '0' && code[i] <= '9'
	}
	if !okLen || !digits {
		return errors.New(shape)
	}
	ch := code[:2]
	if _, ok := hsChapters[ch]; !ok {
		if ch == "77" {
			return fmt.Errorf("chapter 77 is reserved in the Harmonized System and holds no goods")
		}
		return fmt.Errorf("chapter %s does not exist: HS chapters are 01-97", ch)
	}
	return nil
}

// HSDescription names a code's heading (when in the small table) or chapter.
func HSDescription(code string) string {
	if len(code) >= 4 {
		if d, ok := hsHeadings[code[:4]]; ok {
			return d
		}
	}
	if len(code) >= 2 {
		return hsChapters[code[:2]]
	}
	return ""
}

// HSCovers says whether a prefix (chapter, heading or subheading) covers code.
func HSCovers(prefix, code string) bool {
	return len(prefix) <= len(code) && code[:len(prefix)] == prefix
}
